using Tempo.Core;
using Tempo.Simulation.Bounds;
using Tempo.Simulation.Experiments;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Simulation.Tests.Bounds;

public class GainBoundTests
{
    private static readonly CostModel A100 = new(CostProfile.Default);

    [Fact]
    public void Under_EveryPlane_PricesNoStepAboveItsCost()
    {
        var planes = StepCostPlane.Under(A100, maxBatch: 32, tokenBudget: 512, count: 7);

        Assert.True(planes.Count >= 2);
        foreach (var plane in planes)
        {
            for (var d = 0; d <= 32; d++)
            {
                for (var p = d == 0 ? 1 : 0; p + d <= 512; p++)
                {
                    var costS = A100.IdleStepS + ((A100.LinearMs(d + p) + A100.DecodeAttentionMs(d, 0)) / 1000);
                    Assert.True((d * plane.DecodeS) + (p * plane.PrefillS) <= costS + 1e-12, $"{plane} overprices {d} decodes and {p} prefill tokens");
                }
            }
        }
    }

    [Fact]
    public void Of_OneLightRequest_EarnsItsWholeGainAndLastsAtLeastItsShortestTime()
    {
        var spec = SyntheticWorkloads.Spec(1, RequestClass.Throughput, 0, prompt: 600, output: 50, k: 4);

        var bound = GainBound.Of(new Workload("one", [spec]), A100, 32, 512, GainWeights.Paper);

        Assert.Equal(600 + (8 * 50), bound.ServiceGain, 6);
        Assert.Equal(1, bound.SloMet, 6);
        // Two prefill chunks and 49 decode steps, each at least the cheapest step.
        Assert.True(bound.DurationS >= 51 * (A100.IdleStepS + (A100.LinearMs(1) / 1000)) - 1e-9, $"duration {bound.DurationS}");
    }

    [Fact]
    public void Of_ADeadlineShorterThanTheDecodeAlone_EarnsNothing()
    {
        var spec = SyntheticWorkloads.Spec(1, RequestClass.Throughput, 0, prompt: 10, output: 1000) with { Slo = new Slo(1, 0.1, 5) };

        var bound = GainBound.Of(new Workload("hopeless", [spec]), A100, 32, 512, GainWeights.Paper);

        Assert.Equal(0, bound.ServiceGain);
        Assert.Equal(0, bound.SloMet);
    }

    [Fact]
    public void Of_AStreamThatCannotKeepPace_StillEarnsItsPromptAndTokensButIsNeverOnTime()
    {
        // A gap of 5 ms is shorter than any step, yet the cumulative schedule lets late tokens count once T_f is long.
        var spec = SyntheticWorkloads.Spec(1, RequestClass.Latency, 0, prompt: 100, output: 20) with { Slo = new Slo(2, 0.005, 60) };

        var bound = GainBound.Of(new Workload("fast-stream", [spec]), A100, 32, 512, GainWeights.Paper);

        Assert.Equal(100 + (8 * 20), bound.ServiceGain, 6);
        Assert.Equal(0, bound.SloMet);
    }

    [Theory]
    [InlineData(4.0)]
    [InlineData(30.0)]
    public void Of_IsNeverBeatenByAnyPolicy(double rate)
    {
        var workload = SyntheticWorkloads.Mixed(120, rate, seed: 3, maxPrompt: 1500, maxOutput: 400);
        var plan = new ExperimentPlan
        {
            Policies = ["tempo", "tempo-oracle", "jitserve", "edf", "sarathi", "oracle-sjf"],
            Rates = [rate],
            Workload = _ => workload,
            Profile = CostProfile.Default,
            MaxBatch = 32,
            TokenBudget = 512,
        };

        var runs = ExperimentRunner.Run(plan).Runs;
        var bound = GainBound.Of(workload, A100, 32, 512, GainWeights.Paper);

        foreach (var run in runs)
        {
            Assert.True(run.Metrics.Total.ServiceGain <= bound.ServiceGain + 1e-6, $"{run.Policy} earned {run.Metrics.Total.ServiceGain} above the bound {bound.ServiceGain}");
            Assert.True(run.Metrics.Total.SloMet <= bound.SloMet + 1e-6, $"{run.Policy} met {run.Metrics.Total.SloMet} above the bound {bound.SloMet}");
            Assert.True(run.Metrics.DurationS >= bound.DurationS - 1e-6, $"{run.Policy} took {run.Metrics.DurationS} s, under the bound {bound.DurationS}");
        }
    }

    [Fact]
    public void Of_MoreDecodesThanTheDeadlineLeavesRoomFor_BoundsBelowDoingEverything()
    {
        // Each call alone fits in 2 s, but 100 of them need 9,900 decodes: more than 32 sequences a step can do.
        var calls = Enumerable.Range(0, 100)
            .Select(i => SyntheticWorkloads.Spec(i, RequestClass.Throughput, 0, prompt: 50, output: 100) with { Slo = new Slo(1, 0.1, 2) })
            .ToList();

        var bound = GainBound.Of(new Workload("crowd", calls), A100, 32, 512, GainWeights.Paper);

        Assert.InRange(bound.ServiceGain, 1, 0.6 * 100 * (50 + 800));
        Assert.InRange(bound.SloMet, 1, 60);
    }

    [Fact]
    public void Of_SameWorkload_SameBound()
    {
        var workload = SyntheticWorkloads.Mixed(60, 20, seed: 9);

        var a = GainBound.Of(workload, A100, 32, 512, GainWeights.Paper);
        var b = GainBound.Of(workload, A100, 32, 512, GainWeights.Paper);

        Assert.Equal(a, b);
    }
}
