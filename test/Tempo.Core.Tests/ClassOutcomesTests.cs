namespace Tempo.Core.Tests;

public class ClassOutcomesTests
{
    [Fact]
    public void Add_CountsGainAndVerdictsPerClass_AndShedOnlyWhenTheDetailSaysSo()
    {
        var tally = new ClassOutcomes();

        tally.Add(Outcome(RequestClass.Latency, met: true, gain: 100));
        tally.Add(Outcome(RequestClass.Latency, met: false, gain: 12));
        tally.Add(Outcome(RequestClass.Throughput, met: false, gain: 0, detail: SloShedding.Code + ": no way"));
        tally.Add(Outcome(RequestClass.Throughput, met: false, gain: 0, detail: "client went away"));

        Assert.Equal(112, tally.Gain(RequestClass.Latency));
        Assert.Equal(1, tally.Met(RequestClass.Latency));
        Assert.Equal(1, tally.Missed(RequestClass.Latency));
        Assert.Equal(0, tally.Shed(RequestClass.Latency));
        Assert.Equal(2, tally.Missed(RequestClass.Throughput));
        Assert.Equal(1, tally.Shed(RequestClass.Throughput));
        Assert.Equal(0, tally.Met(RequestClass.Collective) + tally.Missed(RequestClass.Collective));
    }

    private static RequestOutcome Outcome(RequestClass cls, bool met, double gain, string? detail = null)
    {
        var spec = Specs.Make(1, prompt: 4, output: 4, cls);
        var record = new RequestRecord(spec, 0, [], 1, detail is null ? FinishReason.Length : FinishReason.Aborted, detail);
        return new RequestOutcome(record, met, gain, 100);
    }
}
