using static TorchSharp.torch;

namespace ModelLedger.Tuning.Adapters;

/// <summary>Many adapters in one forward pass: each row's output against the single-adapter LoRA forward written here
/// with libtorch, one row at a time — base(x) + scale·x·Aᵀ·Bᵀ with the row's own A, B and scale (alpha / r), and the
/// base alone for slot 0. Ranks differ (the stacks pad to the largest). A decode step and a short prefill go through
/// the C# per-row kernel, a long prefill through libtorch's gather and batched matmuls.</summary>
public sealed class MultiLoraLinearTests
{
    [Theory]
    [InlineData(16, 1)]   // a decode step of 16 rows: the kernel
    [InlineData(1, 32)]   // a prompt of 32 tokens: the kernel
    [InlineData(2, 40)]   // 80 token rows, over the kernel's limit: libtorch
    public void EachRow_MatchesItsAdapterAlone(int batch, int tokens)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var generator = new Generator(seed: (ulong)(batch * 100 + tokens));
        const int inFeatures = 48, outFeatures = 80;
        int[] ranks = [0, 8, 4, 2];   // slot 0 is the base
        var linear = nn.Linear(inFeatures, outFeatures, hasBias: true);
        var a = ranks.Select(r => randn([Math.Max(r, 1), inFeatures], generator: generator)).ToArray();
        var b = ranks.Select(r => randn([outFeatures, Math.Max(r, 1)], generator: generator)).ToArray();
        var scale = ranks.Select(r => 16.0 / Math.Max(r, 1)).ToArray();   // alpha 16
        var selection = new LoraRowSelection();
        var multi = new MultiLoraLinear(linear, selection);
        try
        {
            multi.Reserve(ranks.Length, ranks.Max(), CPU);
            for (int s = 1; s < ranks.Length; s++) multi.Write(s, a[s], b[s], scale[s]);
            var slotOf = Enumerable.Range(0, batch).Select(i => (long)((i + 1) % ranks.Length)).ToArray();
            selection.Slots = tensor(slotOf);
            var x = randn([batch, tokens, inFeatures], generator: generator);
            var y = multi.forward(x);
            for (int i = 0; i < batch; i++)
            {
                int s = (int)slotOf[i];
                var expected = linear.forward(x[i]);
                if (s != 0) expected = expected + x[i].matmul(a[s].t()).matmul(b[s].t()) * scale[s];
                double error = (y[i] - expected).abs().max().item<float>();
                double size = expected.abs().max().item<float>();
                Assert.True(error <= 1e-5 * size, $"row {i} (slot {s}): max |diff| {error}, max |y| {size}");
            }
        }
        finally
        {
            selection.Slots = null;
            multi.ReleaseStacks();
        }
    }
}
