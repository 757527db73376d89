namespace Tempo.Core.Tests;

public class ServiceGainTests
{
    private static readonly GainWeights W = GainWeights.Paper;

    [Fact]
    public void OfLatency_EveryTokenByItsDeadline_EarnsPromptPlusEightPerToken()
    {
        // Deadlines arrival + 1 + i·0.1: 11.0, 11.1, 11.2, 11.3.
        var r = Records.Latency(1, prompt: 100, arrival: 10, 10.5, 10.6, 10.7, 10.8);

        Assert.Equal(100 + (8 * 4), ServiceGain.OfLatency(r, W));
        Assert.True(ServiceGain.LatencyMet(r));
    }

    [Fact]
    public void OfLatency_TokenExactlyAtItsDeadline_Counts()
    {
        var r = Records.Latency(1, prompt: 10, arrival: 0, 1.0, 1.1, 1.2);

        Assert.Equal(10 + (8 * 3), ServiceGain.OfLatency(r, W));
    }

    [Fact]
    public void OfLatency_TtftMissed_PromptLostAndLateRequestCatchesUpOnCumulativeSchedule()
    {
        // Deadlines 1.0 .. 1.5; tokens come faster than T_b, so from the fourth on they are back on schedule.
        var r = Records.Latency(1, prompt: 100, arrival: 0, 1.25, 1.26, 1.27, 1.28, 1.29, 1.30);

        Assert.Equal(8 * 3, ServiceGain.OfLatency(r, W));
        Assert.False(ServiceGain.LatencyMet(r));
    }

    [Fact]
    public void OfLatency_StallAfterOnTimeStart_CountsPromptAndOnlyTokensBackOnSchedule()
    {
        // Deadlines 1.0, 1.1, 1.2, 1.3, 1.4: the stall misses tokens 1..3, token 4 catches up.
        var r = Records.Latency(1, prompt: 50, arrival: 0, 0.5, 1.35, 1.36, 1.37, 1.38);

        Assert.Equal(50 + (8 * 2), ServiceGain.OfLatency(r, W));
    }

    [Fact]
    public void OfLatency_TtftMetUpToFloatingPointNoise_CountsPrompt()
    {
        // 0.4 − 0.1 is 0.30000000000000004 in binary floating point: TTFT is met, as LatencyMet agrees.
        var spec = Records.Spec(1, RequestClass.Latency, 100, 1, new Slo(0.3, 0.1, 0), arrival: 0.1);
        var r = Records.Done(spec, 0.1, 0.1 + 0.3);

        Assert.True(ServiceGain.LatencyMet(r));
        Assert.Equal(100 + 8, ServiceGain.OfLatency(r, W));
    }

    [Fact]
    public void OfLatency_CustomWeights_AppliesThem()
    {
        var r = Records.Latency(1, prompt: 10, arrival: 0, 0.5, 0.6);

        Assert.Equal((2 * 10) + (3 * 2), ServiceGain.OfLatency(r, new GainWeights(2, 3)));
    }

    [Theory]
    [InlineData(FinishReason.Aborted)]
    [InlineData(FinishReason.Rejected)]
    public void OfLatencyAndOfThroughput_NotCompleted_EarnNothing(FinishReason reason)
    {
        var latency = new RequestRecord(Records.Spec(1, RequestClass.Latency, 100, 5, new Slo(1, 0.1, 0)), 0, [0.5, 0.6], 0.7, reason, "gone");
        var throughput = new RequestRecord(Records.Spec(2, RequestClass.Throughput, 100, 5, new Slo(0, 0, 10)), 0, [0.5, 0.6], 0.7, reason, "gone");

        Assert.Equal(0, ServiceGain.OfLatency(latency, W));
        Assert.Equal(0, ServiceGain.OfThroughput(throughput, W));
        Assert.False(ServiceGain.LatencyMet(latency));
    }

    [Fact]
    public void LatencyMet_OneGapOverTbt_FailsThoughEveryTokenIsOnTime()
    {
        // All tokens are well ahead of their deadlines (gain is full), but the 0.15 s gap breaks the strict SLO.
        var r = Records.Latency(1, prompt: 10, arrival: 0, 0.2, 0.25, 0.4, 0.45);

        Assert.Equal(10 + (8 * 4), ServiceGain.OfLatency(r, W));
        Assert.False(ServiceGain.LatencyMet(r));
    }

    [Fact]
    public void LatencyMet_EveryGapWithinTbt_Passes()
    {
        var r = Records.Latency(1, prompt: 10, arrival: 0, 0.2, 0.3, 0.4, 0.45);

        Assert.True(ServiceGain.LatencyMet(r));
    }

    [Fact]
    public void LatencyMet_TtftMissed_Fails()
    {
        var r = Records.Latency(1, prompt: 10, arrival: 0, 1.01, 1.02);

        Assert.False(ServiceGain.LatencyMet(r));
    }

    [Theory]
    [InlineData(4.0, 50 + (8 * 10))]
    [InlineData(5.0, 50 + (8 * 10))]
    [InlineData(5.01, 0)]
    public void OfThroughput_FinishAgainstDeadline_AllOrNothing(double finish, double expected)
    {
        var spec = Records.Spec(1, RequestClass.Throughput, 50, 10, new Slo(0, 0, 5), arrival: 1);
        var tokens = Enumerable.Range(1, 10).Select(i => 1 + (i * (finish - 1) / 10)).ToArray();
        var r = new RequestRecord(spec, 1, tokens, 1 + finish, FinishReason.Length);

        Assert.Equal(expected, ServiceGain.OfThroughput(r, W));
    }
}
