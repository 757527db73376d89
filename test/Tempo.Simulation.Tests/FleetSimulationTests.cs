using CsCheck;

using Tempo.Core;
using Tempo.Fleet;
using Tempo.Scheduling;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Simulation.Tests;

/// <summary>Several simulated replicas behind a router on one event loop.</summary>
public class FleetSimulationTests
{
    private static readonly CostModel Cost = new(CostProfile.Default);

    [Fact]
    public void OneReplica_GivesExactlyTheSingleEngineRecords()
    {
        var workload = SyntheticWorkloads.Mixed(60, rate: 12, seed: 5, maxOutput: 300);

        var single = Run(workload, "tempo", replicas: 1, "round-robin", fleet: false);
        var fleet = Run(workload, "tempo", replicas: 1, "tempo", fleet: true);

        Assert.Equal(single.Records.Select(Key), fleet.Records.Select(Key));
    }

    [Fact]
    public void RoundRobin_TwoReplicas_AlternatesAndEachRequestRunsOnOneReplica()
    {
        var specs = Enumerable.Range(1, 6).Select(i => SyntheticWorkloads.Spec(i, RequestClass.Throughput, arrivalS: i * 0.01, prompt: 100, output: 20)).ToList();

        var result = Run(new Workload("rr", specs), "sarathi", replicas: 2, "round-robin");

        Assert.Equal(2, result.Replicas);
        Assert.Equal("round-robin", result.Router);
        Assert.All(result.Records, r => Assert.Equal(FinishReason.Length, r.Reason));
        // Both replicas stepped, and no request waited for another: with one request each at a time, every TTFT is one
        // prefill step plus at most the step running when it arrived.
        Assert.Equal(6 * 20, result.Stats.DecodeTokens + 6);
        Assert.All(result.Records, r => Assert.True(r.TtftS < 0.1, $"request {r.Spec.Id} waited {r.TtftS} s"));
    }

    [Fact]
    public void MoreReplicas_UnderOverload_RaiseAttainment()
    {
        var workload = SyntheticWorkloads.Mixed(150, rate: 40, seed: 2, maxOutput: 400);

        var one = Run(workload, "sarathi", replicas: 1, "least-loaded");
        var four = Run(workload, "sarathi", replicas: 4, "least-loaded");

        Assert.True(four.Metrics.Attainment > one.Metrics.Attainment + 0.1, $"1 replica {one.Metrics.Attainment:P1}, 4 replicas {four.Metrics.Attainment:P1}");
    }

    [Fact]
    public void CollectiveJob_OnAFleet_ReleasesEachStageAfterThePreviousOneEnded()
    {
        var job = SyntheticWorkloads.Job(firstId: 100, jobId: 7, arrivalS: 0.2, callsPerStage: [3, 2, 1], prompt: 300, output: 40);
        var background = Enumerable.Range(1, 30).Select(i => SyntheticWorkloads.Spec(i, RequestClass.Throughput, arrivalS: i * 0.03, prompt: 700, output: 60));
        var workload = new Workload("job", [.. background.Concat(job).OrderBy(s => s.ArrivalS).ThenBy(s => s.Id)]);

        var result = Run(workload, "tempo", replicas: 3, "tempo");

        var calls = result.Records.Where(r => r.Spec.JobId == 7).ToList();
        Assert.All(calls, r => Assert.True(r.Completed));
        for (var stage = 1; stage < 3; stage++)
        {
            var previousEnd = calls.Where(r => r.Spec.Stage == stage - 1).Max(r => r.FinishS);
            Assert.All(calls.Where(r => r.Spec.Stage == stage), r => Assert.Equal(previousEnd, r.ArrivalS, 12));
        }
    }

    [Fact]
    public void Property_EveryRouter_EveryRequestEndsExactlyOnce_NoneBeforeItWasSent_SameSeedSameRecords()
    {
        Gen.Select(Gen.Int[1, 5], Gen.Int[0, RouterRegistry.Names.Count - 1], Gen.Int[0, 1000], Gen.Double[2, 40]).Sample((replicas, router, seed, rate) =>
        {
            var workload = SyntheticWorkloads.Mixed(40, rate, seed, maxOutput: 200);
            var name = RouterRegistry.Names[router];

            var a = Run(workload, "tempo", replicas, name);
            var b = Run(workload, "tempo", replicas, name);

            Assert.Equal(workload.Requests.Count, a.Records.Count);
            Assert.Equal(workload.Requests.Select(s => s.Id), a.Records.Select(r => r.Spec.Id));
            Assert.All(a.Records, r => Assert.True(r.TokenTimesS.Count == 0 || r.TokenTimesS[0] > r.ArrivalS, $"request {r.Spec.Id} got a token before it was sent"));
            Assert.All(a.Records.Where(r => r.Spec.Class != RequestClass.Collective), r => Assert.Equal(r.Spec.ArrivalS, r.ArrivalS));
            Assert.Equal(a.Records.Select(Key), b.Records.Select(Key));
        }, iter: 25);
    }

    [Fact]
    public void RunFleet_SharedSchedulerInstance_IsRefused()
    {
        var info = PolicyRegistry.Get("sarathi");
        var config = CostProfile.Default.ToEngineConfig(32, info.DefaultTokenBudget);
        var scheduler = info.Create(new SchedulerOptions { Engine = config });

        Assert.Throws<ArgumentException>(() => SimulationDriver.RunFleet(SyntheticWorkloads.Mixed(5, 1, 1), config, [scheduler, scheduler], new RoundRobinRouter(), Cost));
    }

    [Fact]
    public void ReplicaSlowdowns_StretchEveryStepOfTheSlowReplica_AndBadOnesAreRefused()
    {
        var info = PolicyRegistry.Get("sarathi");
        var config = CostProfile.Default.ToEngineConfig(32, info.DefaultTokenBudget);
        var workload = SyntheticWorkloads.Mixed(20, 1, 1);
        SimulationResult Fleet(Workload w, params double[] slowdowns) => SimulationDriver.RunFleet(
            w, config, [info.Create(new SchedulerOptions { Engine = config })], new RoundRobinRouter(), Cost,
            new SimulationOptions { CheckInvariants = true, ReplicaSlowdowns = slowdowns });

        // A replica 3x slower, fed the same requests 3x further apart, replays the same schedule 3x stretched: sarathi's
        // plans do not depend on time, so every token lands at exactly 3x its time on the normal replica.
        var normal = Fleet(workload);
        var slow = Fleet(workload with { Requests = [.. workload.Requests.Select(r => r with { ArrivalS = r.ArrivalS * 3 })] }, 3);

        Assert.Equal(normal.Records.Count, slow.Records.Count);
        foreach (var (n, s) in normal.Records.Zip(slow.Records))
        {
            Assert.Equal(n.Spec.Id, s.Spec.Id);
            Assert.Equal(n.TokenTimesS.Count, s.TokenTimesS.Count);
            Assert.Equal(3 * n.FinishS, s.FinishS, 6);
        }

        Assert.Throws<ArgumentException>(() => Fleet(workload, 0));
        Assert.Throws<ArgumentException>(() => Fleet(workload, -1));
    }

    private static (long, FinishReason, double, int) Key(RequestRecord r) => (r.Spec.Id, r.Reason, r.FinishS, r.TokenTimesS.Count);

    private static SimulationResult Run(Workload workload, string policy, int replicas, string router, bool fleet = true)
    {
        var info = PolicyRegistry.Get(policy);
        var config = CostProfile.Default.ToEngineConfig(32, info.DefaultTokenBudget);
        var schedulers = Enumerable.Range(0, replicas).Select(_ => info.Create(new SchedulerOptions { Engine = config })).ToList();
        var options = new SimulationOptions { CheckInvariants = true };
        return fleet
            ? SimulationDriver.RunFleet(workload, config, schedulers, RouterRegistry.Create(router), Cost, options)
            : SimulationDriver.Run(workload, config, schedulers[0], Cost, options);
    }
}
