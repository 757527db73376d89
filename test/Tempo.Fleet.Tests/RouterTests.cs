using CsCheck;

using Tempo.Core;

namespace Tempo.Fleet.Tests;

public class RouterTests
{
    private static readonly ReplicaLoad Idle = new(Running: 0, Waiting: 0, Swapped: 0, MaxBatch: 4, TokenBudget: 512, KvUsage: 0, PrefillBacklogTokens: 0, StepS: 0.02, ServiceS: 1);

    private static RequestSpec Latency(long id, int prompt = 100, double ttftS = 1) =>
        Specs.Make(id, prompt, output: 50, RequestClass.Latency, slo: new Slo(ttftS, 0.1, 10));

    private static RequestSpec Call(long id, long job, double deadlineS) =>
        Specs.Make(id, prompt: 100, output: 20, RequestClass.Collective, slo: new Slo(1, 0.1, deadlineS), job: job, stageCount: 2);

    [Fact]
    public void PredictedTtft_CountsTheSlotWaitTheBacklogChunksAndOneDecodeStep()
    {
        var full = Idle with { Running = 4, Waiting = 3, PrefillBacklogTokens = 900 };

        // 4 requests ahead of a full batch of 4 leave one slot each 1 s / 4; 900 + 124 tokens take 2 chunks; + 1 decode.
        Assert.Equal((4 * 1.0 / 4) + (3 * 0.02), full.PredictedTtftS(124), 12);
        Assert.Equal(2 * 0.02, Idle.PredictedTtftS(100), 12);
    }

    [Fact]
    public void RoundRobin_CyclesThroughTheReplicas()
    {
        var router = new RoundRobinRouter();
        ReplicaLoad[] fleet = [Idle, Idle, Idle];

        var picks = Enumerable.Range(0, 7).Select(i => router.Pick(Latency(i), 0, fleet)).ToArray();

        Assert.Equal([0, 1, 2, 0, 1, 2, 0], picks);
    }

    [Fact]
    public void LeastLoaded_PrefersTheShortQueueAndTheEmptyCache_AndSpreadsTies()
    {
        var router = new LeastLoadedRouter();

        Assert.Equal(1, router.Pick(Latency(1), 0, [Idle with { Waiting = 5 }, Idle with { Waiting = 1 }, Idle with { Waiting = 5, KvUsage = 0.5 }]));
        Assert.Equal(2, router.Pick(Latency(2), 0, [Idle with { KvUsage = 0.9 }, Idle with { KvUsage = 0.5 }, Idle with { KvUsage = 0.1 }]));
        var spread = Enumerable.Range(0, 3).Select(i => router.Pick(Latency(i), 0, [Idle, Idle, Idle])).ToHashSet();
        Assert.Equal(3, spread.Count);
    }

    [Fact]
    public void Tempo_LatencyRequest_GoesWhereItsFirstTokenComesSoonest_NotWhereTheQueueIsShortest()
    {
        // Replica 0 has no waiting requests but 5,000 prompt tokens to prefill; replica 1 has two short ones waiting.
        ReplicaLoad[] fleet = [Idle with { Running = 1, PrefillBacklogTokens = 5000 }, Idle with { Running = 1, Waiting = 2, PrefillBacklogTokens = 100 }];

        Assert.Equal(1, new SloAwareRouter().Pick(Latency(1), 0, fleet));
        Assert.Equal(0, new LeastLoadedRouter().Pick(Latency(1), 0, fleet));
    }

    [Fact]
    public void Tempo_CallsOfOneJob_StayTogetherWhileTheyFit_AndMoveWhenTheyWouldBeLate()
    {
        var router = new SloAwareRouter();
        ReplicaLoad[] fleet = [Idle, Idle];

        var home = router.Pick(Call(1, job: 9, deadlineS: 10), 0, fleet);
        fleet[home] = Idle with { Running = 2, PrefillBacklogTokens = 600 }; // busier, but the call still fits here
        var second = router.Pick(Call(2, job: 9, deadlineS: 10), 0, fleet);
        fleet[home] = Idle with { Running = 4, Waiting = 60 }; // 15 s of slot wait: the job's 10 s deadline would pass
        var third = router.Pick(Call(3, job: 9, deadlineS: 10), 0, fleet);

        Assert.Equal(home, second);
        Assert.Equal(1 - home, third);
    }

    [Fact]
    public void Property_EveryRouter_PicksAReplicaOfTheFleet()
    {
        var load = Gen.Select(Gen.Int[0, 40], Gen.Int[0, 40], Gen.Double[0, 1], Gen.Long[0, 20_000], Gen.Double[0.001, 0.2])
            .Select((running, waiting, kv, backlog, step) => Idle with { Running = running, Waiting = waiting, KvUsage = kv, PrefillBacklogTokens = backlog, StepS = step });
        Gen.Select(load.Array[1, 8], Gen.Int[0, RouterRegistry.Names.Count - 1], Gen.Int[1, 4000], Gen.Bool).Sample((fleet, router, prompt, collective) =>
        {
            var r = RouterRegistry.Create(RouterRegistry.Names[router]);
            for (var i = 0; i < 5; i++)
            {
                var spec = collective ? Call(i, job: i % 2, deadlineS: 5) : Latency(i, prompt);
                var pick = r.Pick(spec, 0, fleet);
                Assert.InRange(pick, 0, fleet.Length - 1);
            }
        });
    }

    [Fact]
    public void Registry_UnknownRouter_NamesTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => RouterRegistry.Create("random"));

        Assert.Contains("round-robin, least-loaded, tempo", e.Message, StringComparison.Ordinal);
    }
}
