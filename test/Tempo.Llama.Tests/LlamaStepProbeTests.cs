namespace Tempo.Llama.Tests;

[Collection(TinyModelGroup.Name)]
public sealed class LlamaStepProbeTests(TinyModel tiny)
{
    [Fact]
    public void TimeDecodePrefillMixed_ReturnOnePositiveTimingPerRepeat()
    {
        using var probe = new LlamaStepProbe(tiny.Model, maxBatch: 4, tokenBudget: 64);

        Assert.Equal(4, probe.MaxBatch);
        Assert.All(probe.TimeDecode(batch: 4, context: 40, repeats: 3, warmup: 1), t => Assert.True(t > 0));
        Assert.All(probe.TimePrefill(chunk: 32, cached: 60, repeats: 3, warmup: 1), t => Assert.True(t > 0));
        Assert.All(probe.TimeMixed(decodes: 3, context: 40, chunk: 16, repeats: 3, warmup: 1), t => Assert.True(t > 0));
        Assert.True(probe.TimeSwapPerBlock(context: 64, blockSize: 16, repeats: 3) > 0);
    }

    [Fact]
    public void Probe_RepeatedPrefillsRewind_SoTheCacheNeverFills()
    {
        using var probe = new LlamaStepProbe(tiny.Model, maxBatch: 1, tokenBudget: 64);

        // 40 repetitions of a 64-token chunk would be 2,560 tokens without the rewind: far beyond 512 cells.
        var timings = probe.TimePrefill(chunk: 64, cached: 400, repeats: 40, warmup: 0);

        Assert.Equal(40, timings.Length);
    }

    [Fact]
    public void Probe_ShapesBeyondTheEngineLimits_AreRejected()
    {
        using var probe = new LlamaStepProbe(tiny.Model, maxBatch: 4, tokenBudget: 64);

        Assert.Throws<ArgumentOutOfRangeException>(() => probe.TimeDecode(batch: 5, context: 10, repeats: 3, warmup: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => probe.TimeDecode(batch: 4, context: 200, repeats: 3, warmup: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => probe.TimePrefill(chunk: 65, cached: 0, repeats: 3, warmup: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => probe.TimeMixed(decodes: 3, context: 10, chunk: 62, repeats: 3, warmup: 0));

        // The probe is still usable after rejected shapes.
        Assert.Equal(3, probe.TimeDecode(batch: 2, context: 10, repeats: 3, warmup: 0).Length);
    }
}
