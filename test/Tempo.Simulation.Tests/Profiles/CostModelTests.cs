using CsCheck;

using Tempo.Engine;
using Tempo.Simulation.Profiles;

namespace Tempo.Simulation.Tests.Profiles;

public class CostModelTests
{
    private static readonly CostModel A100 = new(CostProfile.Load("llama3.1-8b-a100"));
    private static readonly double FixedMs = A100.Profile.FixedMs;

    [Fact]
    public void PriorFor_HalfBatchDecodes_AndAChunkFillingTheBudget()
    {
        var engine = A100.Profile.ToEngineConfig(32, 512);

        var prior = A100.PriorFor(engine);

        Assert.Equal(A100.StepTimeS(Decodes(16, context: 513), 0), prior.DecodeStepS, 12);
        Assert.True(prior.PrefillStepS > prior.DecodeStepS * 1.5, $"a 496-token chunk should cost well above a decode step: {prior.PrefillStepS} vs {prior.DecodeStepS}");
    }

    [Fact]
    public void StepTimeS_Decode32AtContext1000_MatchesWorkedExample()
    {
        // evaluation note C.4 in docs/PROFILES.md: 10.9 + 32·(0.026 + 0.0746)·1.1 ≈ 14.4 ms, plus t_fixed.
        var ms = A100.StepTimeS(Decodes(32, context: 1000), 0) * 1000;

        Assert.Equal(14.4 + FixedMs, ms, 0.1);
    }

    [Fact]
    public void StepTimeS_Decode32AtContext4000_MatchesWorkedExample()
    {
        var ms = A100.StepTimeS(Decodes(32, context: 4000), 0) * 1000;

        Assert.Equal(22.3 + FixedMs, ms, 0.15);
    }

    [Fact]
    public void StepTimeS_MixedSarathiIteration_MatchesWorkedExample()
    {
        // 32 decodes (ΣK = 32K) plus a 480-token chunk with k = 0: N = 512, 34.6 + 3.5 + 1.2 ≈ 39.4 ms.
        var entries = Decodes(32, context: 1000).Append(Prefill(480, cached: 0)).ToArray();

        var ms = A100.StepTimeS(entries, 0) * 1000;

        Assert.Equal(39.4 + FixedMs, ms, 0.1);
    }

    [Fact]
    public void StepTimeS_Full2048Prefill_MatchesWorkedExample()
    {
        // 145.6 + 32·(0.011 + 0.072 + 8.9e-8·2.1M) ≈ 154 ms.
        var ms = A100.StepTimeS([Prefill(2048, cached: 0)], 0) * 1000;

        Assert.Equal(154.2 + FixedMs, ms, 0.3);
    }

    [Fact]
    public void StepTimeS_Decode16AtContext1000_IsCalibratedTo22Ms()
    {
        // The calibration point of the profile (evaluation note A.8 in docs/PROFILES.md: TBT p50 ≈ 22 ms at BS 16).
        var ms = A100.StepTimeS(Decodes(16, context: 1000), 0) * 1000;

        Assert.Equal(22.0, ms, 0.05);
    }

    [Fact]
    public void StepTimeS_EmptyBatch_CostsTheFixedOverheadOnly()
    {
        Assert.Equal(FixedMs / 1000, A100.StepTimeS([], 0), 12);
        Assert.Equal(A100.IdleStepS, A100.StepTimeS([], 0), 12);
    }

    [Fact]
    public void StepTimeS_SwappedBlocks_AddTransferTimePerBlock()
    {
        var withSwap = A100.StepTimeS(Decodes(4, 500), swapBlocks: 15);
        var without = A100.StepTimeS(Decodes(4, 500), swapBlocks: 0);

        Assert.Equal(15 * A100.Profile.SwapMsPerBlock / 1000, withSwap - without, 12);
    }

    [Fact]
    public void StepTimeS_SingleDecode_HasNoBatchingFactor()
    {
        var ms = A100.StepTimeS(Decodes(1, context: 1000), 0) * 1000;

        Assert.Equal(FixedMs + 9.70 + (32 * (0.026 + (2.33e-6 * 1000))), ms, 9);
    }

    [Fact]
    public void LinearMs_BetweenAndBeyondPoints_InterpolatesAndExtrapolates()
    {
        Assert.Equal(9.70, A100.LinearMs(1), 12);
        Assert.Equal((10.91 + 11.23) / 2, A100.LinearMs(48), 9);
        Assert.Equal(34.64, A100.LinearMs(512), 12);
        var slope = (545.17 - 273.57) / 4096;
        Assert.Equal(545.17 + (slope * 8192), A100.LinearMs(16_384), 9);
        Assert.Equal(545.17 + (slope * 10_000), A100.LinearMs(18_192), 9);
        Assert.Equal(0, A100.LinearMs(0));
    }

    [Fact]
    public void StepTimeS_KvSaveTerm_AddsPerPrefillToken()
    {
        var profile = A100.Profile with { KvSaveMs = 2.9e-4 };
        var model = new CostModel(profile);

        var delta = (model.StepTimeS([Prefill(512, 0)], 0) - A100.StepTimeS([Prefill(512, 0)], 0)) * 1000;

        Assert.Equal(32 * 2.9e-4 * 512, delta, 9);
    }

    [Fact]
    public void StepTimeS_AddingWork_NeverMakesAnA100StepShorter()
    {
        // The A100 table increases with N and every attention term is non-negative, so more work costs more.
        var entry = Gen.Select(Gen.Bool, Gen.Int[1, 512], Gen.Int[0, 7000])
            .Select((decode, tokens, cached) => decode ? new BatchEntry(null!, 1, cached, true, true) : Prefill(tokens, cached));
        Gen.Select(entry.Array[0, 40], entry).Sample((batch, extra) =>
        {
            var before = A100.StepTimeS(batch, 0);
            var after = A100.StepTimeS([.. batch, extra], 0);
            return double.IsFinite(before) && before >= FixedMs / 1000 && after >= before;
        });
    }

    [Fact]
    public void Constructor_InvalidProfile_Throws()
    {
        Assert.Throws<ArgumentException>(() => new CostModel(A100.Profile with { NumLayers = 0 }));
    }

    [Fact]
    public void StepTimeS_H100Profile_IsFasterThanA100ForTheSameBatch()
    {
        var h100 = new CostModel(CostProfile.Load("llama3.1-8b-h100"));
        var batch = Decodes(32, 2000).Append(Prefill(256, 1024)).ToArray();

        Assert.True(h100.StepTimeS(batch, 0) < A100.StepTimeS(batch, 0));
    }

    /// <summary>Decode entries whose context after the step is <paramref name="context"/> tokens.</summary>
    internal static BatchEntry[] Decodes(int count, int context) =>
        [.. Enumerable.Repeat(new BatchEntry(null!, 1, context - 1, true, true), count)];

    internal static BatchEntry Prefill(int chunk, int cached) => new(null!, chunk, cached, false, true);
}
