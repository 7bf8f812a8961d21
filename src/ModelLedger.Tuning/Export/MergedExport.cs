using ModelLedger.Engine.Models;
using ModelLedger.Tuning.Adapters;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Tuning.Export;

/// <summary>Folds LoRA adapters into the base weights (W + B·A·scaling) and puts the plain Linear back, so the network
/// has the base architecture's names again and saves as an ordinary HF checkpoint.</summary>
internal static class MergedExport
{
    public static void MergeAndUnload(PretrainedModel model, string adapter)
    {
        for (int i = 0; i < model.Network.LayerCount; i++)
        {
            foreach (var name in LoraSettings.AllTargets)
            {
                Func<Module<Tensor, Tensor>, Module<Tensor, Tensor>> unwrap = current =>
                {
                    if (current is not LoraLinear lora) return current;
                    if (lora.Base is not TorchSharp.Modules.Linear) throw new UserError("a quantized base cannot be merged; load the base in full precision to export");
                    if (lora.Adapters.ContainsKey(adapter)) lora.Merge(adapter);
                    return lora.Base;
                };
                model.Network.ReplaceProjection(i, name, unwrap);
            }
        }
    }
}
