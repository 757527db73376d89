using Tempo.Core;
using Tempo.Scheduling.Gain.JitServe;

namespace Tempo.Scheduling.Tests.Gain;

public class GainDensityTests
{
    private const double U = 0.02;
    private const double P = 100;

    [Fact]
    public void EstimatedGain_OnTimeStreamingLatency_DensityIsEightOverUnitTime()
    {
        var remaining = 200;
        var trem = GainDensity.RemainingTime(U, remaining);
        var x = new GainInputs(RequestClass.Latency, HasFirstToken: true, PromptTokens: 500, LengthBound: 300, RemainingTokens: remaining,
            ElapsedS: 2, DeadlineS: GainDensity.LatencyDeadline(new Slo(1, 0.1, 0), 300), TtftS: 1, RemainingS: trem, UnitTimeS: U);

        var key = GainDensity.Key(GainDensity.EstimatedGain(x, P, 8), trem);

        Assert.Equal(8 / U, key.Density, 6);
        Assert.Equal(trem, key.RemainingS);
    }

    [Fact]
    public void EstimatedGain_ThroughputPredictedFivePercentLate_DensityBelowOnePercentOfOnTime()
    {
        var trem = GainDensity.RemainingTime(U, 100); // 2 s
        var onTime = new GainInputs(RequestClass.Throughput, false, 200, 100, 100, ElapsedS: 0, DeadlineS: 2, TtftS: 1, RemainingS: trem, UnitTimeS: U);
        var late = onTime with { DeadlineS = 2 / 1.05 };

        var onTimeDensity = GainDensity.EstimatedGain(onTime, P, 8) / trem;
        var lateDensity = GainDensity.EstimatedGain(late, P, 8) / trem;

        Assert.Equal((200 + (8 * 100)) / trem, onTimeDensity, 9);
        Assert.True(lateDensity < 0.01 * onTimeDensity, $"late {lateDensity} vs on time {onTimeDensity}");
    }

    [Fact]
    public void EstimatedGain_LatencyBeforeFirstToken_CountsPromptAndWholeBound()
    {
        var trem = GainDensity.RemainingTime(U, 50);
        var x = new GainInputs(RequestClass.Latency, false, 300, 50, 50, ElapsedS: 0, DeadlineS: 6, TtftS: 1, RemainingS: trem, UnitTimeS: U);

        Assert.Equal(300 + (8 * 50), GainDensity.EstimatedGain(x, P, 8), 9);
    }

    [Fact]
    public void EstimatedGain_LatencyFirstTokenLate_LosesPromptButKeepsOnPaceTokens()
    {
        var trem = GainDensity.RemainingTime(U, 50);
        var x = new GainInputs(RequestClass.Latency, false, 300, 50, 50, ElapsedS: 1.5, DeadlineS: 6, TtftS: 1, RemainingS: trem, UnitTimeS: U);

        Assert.Equal(8 * 50, GainDensity.EstimatedGain(x, P, 8), 6);
    }

    [Fact]
    public void LatencyDeadline_Always_UsesPredictedBound()
    {
        // Q3: the density's request-level deadline grows with the bound, not with the (unknown) true length.
        Assert.Equal(1 + (0.1 * 400), GainDensity.LatencyDeadline(new Slo(1, 0.1, 99), 400), 9);
    }

    [Fact]
    public void Clamp_NonPositiveProjection_TreatsDenominatorAsOne()
    {
        Assert.Equal(0.5, GainDensity.Clamp(0.5, 0));
        Assert.Equal(1, GainDensity.Clamp(3, 1));
        Assert.Equal(GainDensity.MinRatio, GainDensity.Clamp(0, 1));
    }

    [Fact]
    public void PriorityKey_EqualDensity_ShorterRemainingFirst()
    {
        Assert.True(new PriorityKey(10, 1).CompareTo(new PriorityKey(10, 2)) < 0);
        Assert.True(new PriorityKey(11, 9).CompareTo(new PriorityKey(10, 1)) < 0);
    }
}
