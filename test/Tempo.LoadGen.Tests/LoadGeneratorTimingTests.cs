using Microsoft.Extensions.Time.Testing;

using Tempo.Core;
using Tempo.TestSupport;

namespace Tempo.LoadGen.Tests;

/// <summary>The load generator's clock-dependent behaviour, on a fake clock: exact values, no wall-clock windows.</summary>
public sealed class LoadGeneratorTimingTests
{
    private static readonly Uri VirtualUrl = new("http://virtual.test/");

    [Fact]
    public async Task RunAsync_StreamingServer_MeasuresTtftTbtAndE2eExactly()
    {
        var clock = new FakeTimeProvider();
        using var server = new VirtualTimeServer(clock) { FirstTokenDelay = TimeSpan.FromMilliseconds(200), ChunkDelay = TimeSpan.FromMilliseconds(50), DrivesClock = true };

        var result = await new LoadGenerator(server, clock).RunAsync(Specs.Of(Specs.Latency(1, 0, output: 5)), Specs.Options(VirtualUrl) with { Model = "m" });

        var r = Assert.Single(result.Records);
        Assert.Equal(FinishReason.Length, r.Reason);
        Assert.Equal([0.20, 0.25, 0.30, 0.35, 0.40], r.TokenTimesS.Select(t => Math.Round(t - r.ArrivalS, 9)));
        Assert.Equal(0.2, r.TtftS!.Value, 9);
        Assert.All(r.TbtGapsS(), g => Assert.Equal(0.05, g, 9));
        Assert.Equal(0.4, r.E2eS, 9);
        Assert.True(r.FinishS >= r.TokenTimesS[^1]);
        Assert.Equal(r.ArrivalS, r.Spec.ArrivalS);
        Assert.Equal(1, result.Metrics.Total.SloMet);
        Assert.Equal(8 + (8 * 5), result.Metrics.Total.ServiceGain);
    }

    [Fact]
    public async Task RunAsync_SlowResponses_SendsEveryArrivalOnSchedule()
    {
        var clock = new FakeTimeProvider();
        using var server = new VirtualTimeServer(clock) { FirstTokenDelay = TimeSpan.FromSeconds(1) };
        var schedule = new[] { 0.0, 0.1, 0.2, 0.3, 0.4 };
        var workload = Specs.Of([.. schedule.Select((t, i) => Specs.Throughput(i + 1, 5 + t, output: 2))]);

        var run = new LoadGenerator(server, clock).RunAsync(workload, Specs.Options(VirtualUrl) with { Model = "m" });
        for (var i = 0; i < schedule.Length; i++)
        {
            // The clock moves only once the previous send has arrived, so every send is stamped on the fake clock.
            await server.WaitForRequestsAsync(i + 1);
            if (i + 1 < schedule.Length)
            {
                clock.SetUtcNow(clock.Start + TimeSpan.FromSeconds(schedule[i + 1] + 0.001));
            }
        }

        // Open loop: every call was sent on schedule while the first answer was still 0.6 s away.
        Assert.False(run.IsCompleted);
        clock.SetUtcNow(clock.Start + TimeSpan.FromSeconds(2));
        var result = await run;

        var sends = result.Records.OrderBy(r => r.Spec.Id).Select(r => r.ArrivalS).ToList();
        for (var i = 0; i < schedule.Length; i++)
        {
            // The generator's timers are due half a millisecond after each arrival; the clock stepped to 1 ms after.
            Assert.InRange(sends[i], schedule[i], schedule[i] + 0.001);
            Assert.Equal(sends[i], server.Received[i], 9);
        }

        Assert.Equal(5, result.PeakInFlight);
        Assert.Equal(0, result.DelayedByLimit);
        Assert.All(result.Records, r => Assert.True(r.Completed));
        Assert.All(result.Records, r => Assert.Equal(2.0, r.FinishS, 9));
        Assert.Equal(10, result.ScheduledRate, 6);
        Assert.Equal(2.0, result.WallS, 9);
    }

    [Fact]
    public async Task RunAsync_RequestOverTimeout_RecordsTimeout()
    {
        var clock = new FakeTimeProvider();
        using var server = new VirtualTimeServer(clock) { FirstTokenDelay = TimeSpan.FromSeconds(5) };
        var options = Specs.Options(VirtualUrl) with { Timeout = TimeSpan.FromMilliseconds(300), Model = "m" };

        var run = new LoadGenerator(server, clock).RunAsync(Specs.Of(Specs.Throughput(1, 0, 3)), options);
        await server.WaitForRequestsAsync(1);
        clock.Advance(TimeSpan.FromMilliseconds(300));
        var result = await run;

        var r = Assert.Single(result.Records);
        Assert.Equal(FinishReason.Aborted, r.Reason);
        Assert.StartsWith("timeout", r.Detail, StringComparison.Ordinal);
        Assert.Equal(0.3, r.E2eS, 9);
        Assert.Equal(1, result.ErrorsByKind["timeout"]);
    }
}
