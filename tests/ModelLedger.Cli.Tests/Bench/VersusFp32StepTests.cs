using ModelLedger.Bench;

namespace ModelLedger.Cli.Bench;

/// <summary>The "vs f32 C# step" column: a decode row over the fp32-weights C# step of its KV cache and batch
/// (worked by hand: 15 / 10 = 1.5x, 40 / 20 = 2x); rows without such a step, and prefill, get none.</summary>
public sealed class VersusFp32StepTests
{
    private static BenchRow Row(string scenario, int batch, double tokensPerSecond) =>
        new(scenario, batch, 100, tokensPerSecond, 1, 0.1);

    [Fact]
    public void Ratio_IsOverTheSameKvAndBatch()
    {
        BenchRow[] rows =
        [
            Row("prefill", 1, 500),
            Row("decode, f16 KV, C# step", 1, 10),
            Row("decode, f16 KV, C# step", 8, 20),
            Row("decode, f32 KV, C# step", 1, 99),
            Row("decode, f16 KV, q8_0 weights, int8 activations, C# step", 1, 15),
            Row("decode, f16 KV, nf4 weights, C# step", 8, 40),
            Row("decode, bf16 KV, nf4 weights, C# step", 1, 7),
        ];
        Assert.Null(GenerateBenchmark.VersusFp32Step(rows[0], rows));
        Assert.Equal(1.0, GenerateBenchmark.VersusFp32Step(rows[1], rows));
        Assert.Equal(1.5, GenerateBenchmark.VersusFp32Step(rows[4], rows));
        Assert.Equal(2.0, GenerateBenchmark.VersusFp32Step(rows[5], rows));
        Assert.Null(GenerateBenchmark.VersusFp32Step(rows[6], rows));
    }
}
