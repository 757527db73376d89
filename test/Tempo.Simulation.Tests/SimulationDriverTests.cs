using CsCheck;

using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Simulation.Tests;

public class SimulationDriverTests
{
    private static readonly CostModel Cost = new(CostProfile.Default);

    [Fact]
    public void Run_LoneRequestUnderSarathi_TtftIsTheTwoPrefillStepsAndTbtTheDecodeSteps()
    {
        var spec = SyntheticWorkloads.Spec(1, RequestClass.Latency, arrivalS: 2.5, prompt: 1000, output: 3);

        var result = Run(new Workload("lone", [spec]), "sarathi");

        var rec = Assert.Single(result.Records);
        var fixedMs = Cost.Profile.FixedMs;
        // A 512-token budget splits the 1,000-token prompt into chunks of 512 (k = 0) and 488 (k = 512).
        var step1 = fixedMs + Cost.LinearMs(512) + Cost.PrefillAttentionMs(512, 0);
        var step2 = fixedMs + Cost.LinearMs(488) + Cost.PrefillAttentionMs(488, 512);
        var decode1 = fixedMs + Cost.LinearMs(1) + Cost.DecodeAttentionMs(1, 1001);
        var decode2 = fixedMs + Cost.LinearMs(1) + Cost.DecodeAttentionMs(1, 1002);
        Assert.Equal(FinishReason.Length, rec.Reason);
        Assert.Equal(2.5, rec.ArrivalS);
        Assert.Equal((step1 + step2) / 1000, rec.TtftS!.Value, 9);
        Assert.Equal([decode1 / 1000, decode2 / 1000], rec.TbtGapsS().ToArray(), new ToleranceComparer(1e-9));
        Assert.Equal(4, result.Stats.Steps);
        Assert.Equal(SimulationOutcome.Completed, result.Outcome);
        Assert.Equal(rec.FinishS, result.SimulatedS, 12);
    }

    [Fact]
    public void Run_RequestArrivingDuringAStep_KeepsItsTrueArrivalTime()
    {
        var first = SyntheticWorkloads.Spec(1, RequestClass.Throughput, arrivalS: 0, prompt: 2000, output: 2);
        var second = SyntheticWorkloads.Spec(2, RequestClass.Latency, arrivalS: 0.01, prompt: 10, output: 2);

        var result = Run(new Workload("overlap", [first, second]), "sarathi");

        var rec = result.Records[1];
        var firstStepEndS = (Cost.Profile.FixedMs + Cost.LinearMs(512) + Cost.PrefillAttentionMs(512, 0)) / 1000;
        Assert.True(firstStepEndS > 0.01);
        Assert.Equal(0.01, rec.ArrivalS);
        // It joins the queue only when the step that was running at its arrival ends.
        Assert.True(rec.TokenTimesS[0] > firstStepEndS);
        Assert.Equal(rec.TokenTimesS[0] - 0.01, rec.TtftS!.Value, 12);
    }

    [Fact]
    public void Run_BusyMixedWorkload_EngineArrivalEqualsSpecArrivalForIndependentRequests()
    {
        var workload = SyntheticWorkloads.Mixed(40, rate: 20, seed: 3, maxOutput: 300);

        var result = Run(workload, "sarathi");

        Assert.All(result.Records.Where(r => r.Spec.Class != RequestClass.Collective), r => Assert.Equal(r.Spec.ArrivalS, r.ArrivalS));
    }

    [Fact]
    public void Run_CollectiveJob_ReleasesEachStageWhenThePreviousStageHasEnded()
    {
        var job = SyntheticWorkloads.Job(firstId: 100, jobId: 7, arrivalS: 0.2, callsPerStage: [3, 2, 1], prompt: 300, output: 40);
        var background = Enumerable.Range(1, 20).Select(i => SyntheticWorkloads.Spec(i, RequestClass.Throughput, arrivalS: i * 0.05, prompt: 700, output: 60));
        var workload = new Workload("job", [.. background.Concat(job).OrderBy(s => s.ArrivalS).ThenBy(s => s.Id)]);

        var result = Run(workload, "sarathi");

        var calls = result.Records.Where(r => r.Spec.JobId == 7).ToList();
        Assert.Equal(6, calls.Count);
        Assert.All(calls, r => Assert.Equal(FinishReason.Length, r.Reason));
        Assert.All(calls.Where(r => r.Spec.Stage == 0), r => Assert.Equal(0.2, r.ArrivalS));
        for (var stage = 1; stage < 3; stage++)
        {
            var previousEnd = calls.Where(r => r.Spec.Stage == stage - 1).Max(r => r.FinishS);
            Assert.All(calls.Where(r => r.Spec.Stage == stage), r =>
            {
                Assert.Equal(previousEnd, r.ArrivalS);
                Assert.True(r.TokenTimesS[0] > previousEnd);
            });
        }

        Assert.Equal(1, result.Metrics.Jobs);
    }

    [Fact]
    public void Run_JobWithRejectedCall_AbandonsItsLaterStagesWithOneAbortedRecordEach()
    {
        var job = SyntheticWorkloads.Job(firstId: 1, jobId: 3, arrivalS: 0, callsPerStage: [2, 2, 1], prompt: 200, output: 20).ToArray();
        // Call 2 (stage 0) needs more context than the model allows, so it is rejected at release.
        job[1] = job[1] with { PromptTokens = 9000 };

        var result = Run(new Workload("abandoned", job), "sarathi");

        Assert.Equal(5, result.Records.Count);
        Assert.Equal(FinishReason.Length, result.Records[0].Reason);
        Assert.Equal(FinishReason.Rejected, result.Records[1].Reason);
        Assert.All(result.Records.Skip(2), r =>
        {
            Assert.Equal(FinishReason.Aborted, r.Reason);
            Assert.StartsWith("job abandoned: call 2 was rejected", r.Detail);
            Assert.Empty(r.TokenTimesS);
        });
        Assert.Equal(0, result.Metrics.JobsMet);
    }

    [Fact]
    public void Run_SameInputsTwice_GiveIdenticalRecords()
    {
        var workload = SyntheticWorkloads.Mixed(60, rate: 12, seed: 11, maxOutput: 300);

        var a = Run(workload, "sarathi", checkInvariants: false);
        var b = Run(workload, "sarathi", checkInvariants: false);

        Assert.Equal(a.Records.Count, b.Records.Count);
        for (var i = 0; i < a.Records.Count; i++)
        {
            Assert.Same(a.Records[i].Spec, b.Records[i].Spec);
            Assert.Equal(a.Records[i].Reason, b.Records[i].Reason);
            Assert.Equal(a.Records[i].ArrivalS, b.Records[i].ArrivalS);
            Assert.Equal(a.Records[i].FinishS, b.Records[i].FinishS);
            Assert.Equal(a.Records[i].TokenTimesS, b.Records[i].TokenTimesS);
        }

        Assert.Equal(a.Stats.Steps, b.Stats.Steps);
        Assert.Equal(a.Metrics.Total.ServiceGain, b.Metrics.Total.ServiceGain);
    }

    [Fact]
    public void Run_RandomWorkloadsOnATinyCache_GiveEverySpecExactlyOneRecordInOrder()
    {
        // A small KV cache forces preemption; oversized requests are rejected; jobs may be abandoned. Without
        // chunked prefill (vllm) the token budget must hold the longest prompt, as vLLM itself requires.
        Gen.Select(Gen.Int[1, 15], Gen.Double[1, 40], Gen.Int, Gen.Bool.Select(b => b ? "sarathi" : "vllm")).Sample((n, rate, seed, policy) =>
        {
            var config = CostProfile.Default.ToEngineConfig(8, policy == "vllm" ? 2048 : 256) with { GpuBlocks = 160, CpuBlocks = 32, MaxModelLen = 2048 };
            var workload = SyntheticWorkloads.Mixed(n, rate, seed, maxPrompt: 1500, maxOutput: 200);
            var scheduler = PolicyRegistry.Get(policy).Create(new SchedulerOptions { Engine = config });

            var result = SimulationDriver.Run(workload, config, scheduler, Cost, new SimulationOptions { CheckInvariants = true });

            return result.Outcome == SimulationOutcome.Completed
                && result.Records.Count == workload.Requests.Count
                && result.Records.Select(r => r.Spec).SequenceEqual(workload.Requests)
                && result.Records.All(r => r.FinishS >= r.ArrivalS && r.TokenTimesS.Count <= r.Spec.OutputTokens);
        }, iter: 40);
    }

    [Fact]
    public void Run_SchedulerThatNeverSchedules_AbortsEverythingAfterTheIdleLimit()
    {
        var job = SyntheticWorkloads.Job(firstId: 10, jobId: 1, arrivalS: 0.1, callsPerStage: [1, 1], prompt: 50, output: 5);
        var workload = new Workload("stuck", [SyntheticWorkloads.Spec(1, RequestClass.Latency, 0, 50, 5), .. job]);
        var config = CostProfile.Default.ToEngineConfig(32, 512);

        var result = SimulationDriver.Run(workload, config, new IdleScheduler(), Cost, new SimulationOptions { MaxIdleSteps = 100 });

        Assert.Equal(SimulationOutcome.SchedulerStalled, result.Outcome);
        Assert.Equal(3, result.Records.Count);
        Assert.All(result.Records, r => Assert.Equal(FinishReason.Aborted, r.Reason));
        Assert.Contains("scheduled nothing for 100 consecutive steps", result.Records[0].Detail);
        Assert.StartsWith("job abandoned: call 10 was aborted", result.Records[2].Detail);
    }

    [Fact]
    public void Run_TimeCap_StopsAndAbortsLiveAndUnsentRequests()
    {
        var workload = new Workload("capped", [
            SyntheticWorkloads.Spec(1, RequestClass.Throughput, 0, 100, 2000),
            SyntheticWorkloads.Spec(2, RequestClass.Throughput, 100, 100, 10),
        ]);
        var config = CostProfile.Default.ToEngineConfig(32, 512);
        var scheduler = PolicyRegistry.Get("sarathi").Create(new SchedulerOptions { Engine = config });

        var result = SimulationDriver.Run(workload, config, scheduler, Cost, new SimulationOptions { MaxSimulatedS = 1.0 });

        Assert.Equal(SimulationOutcome.TimeCapReached, result.Outcome);
        Assert.InRange(result.SimulatedS, 1.0, 1.1);
        Assert.Equal(FinishReason.Aborted, result.Records[0].Reason);
        Assert.NotEmpty(result.Records[0].TokenTimesS);
        Assert.Contains("time cap", result.Records[0].Detail);
        Assert.Equal(FinishReason.Aborted, result.Records[1].Reason);
        Assert.Contains("before this request was sent", result.Records[1].Detail);
    }

    [Fact]
    public void Run_IdleGapBetweenArrivals_JumpsTheClockWithoutSteps()
    {
        var workload = new Workload("gap", [
            SyntheticWorkloads.Spec(1, RequestClass.Latency, 0, 20, 2),
            SyntheticWorkloads.Spec(2, RequestClass.Latency, 1000, 20, 2),
        ]);

        var result = Run(workload, "sarathi");

        Assert.Equal(4, result.Stats.Steps);
        Assert.Equal(1000, result.Records[1].ArrivalS);
        Assert.True(result.StepsPerWallS > 0);
    }

    [Fact]
    public void Run_EmptyWorkload_CompletesWithNoRecords()
    {
        var result = Run(new Workload("empty", []), "vllm");

        Assert.Empty(result.Records);
        Assert.Equal(SimulationOutcome.Completed, result.Outcome);
        Assert.Equal(0, result.Stats.Steps);
    }

    private static SimulationResult Run(Workload workload, string policy, bool checkInvariants = true)
    {
        var info = PolicyRegistry.Get(policy);
        var config = CostProfile.Default.ToEngineConfig(32, info.DefaultTokenBudget);
        return SimulationDriver.Run(workload, config, info.Create(new SchedulerOptions { Engine = config }), Cost, new SimulationOptions { CheckInvariants = checkInvariants });
    }

    private sealed class IdleScheduler : IScheduler
    {
        public string Name => "idle";

        public StepPlan Plan(SchedulerView view) => view.NewBudget().Build();
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}

/// <summary>Small synthetic workloads for tests (the real generators live in Workloads/).</summary>
internal static class SyntheticWorkloads
{
    public static RequestSpec Spec(long id, RequestClass cls, double arrivalS, int prompt, int output, int k = 1) =>
        Specs.Make(id, prompt, output, cls, arrivalS, Specs.Default.Scale(k));

    public static IEnumerable<RequestSpec> Job(long firstId, long jobId, double arrivalS, int[] callsPerStage, int prompt, int output)
    {
        var id = firstId;
        for (var stage = 0; stage < callsPerStage.Length; stage++)
        {
            for (var c = 0; c < callsPerStage[stage]; c++)
            {
                yield return Spec(id++, RequestClass.Collective, arrivalS, prompt, output) with
                {
                    Slo = new Slo(1, 0.1, 60),
                    JobId = jobId,
                    Stage = stage,
                    StageCount = callsPerStage.Length,
                    App = "test",
                };
            }
        }
    }

    /// <summary>Poisson arrivals of latency, throughput and collective (2–3 stages of 1–3 calls) work, uniform lengths.</summary>
    public static Workload Mixed(int arrivals, double rate, int seed, int maxPrompt = 2000, int maxOutput = 1000, bool jobs = true)
    {
        var random = new Random(seed);
        var specs = new List<RequestSpec>();
        var t = 0.0;
        long id = 1;
        for (var i = 0; i < arrivals; i++)
        {
            t += -Math.Log(1 - random.NextDouble()) / rate;
            var kind = random.Next(jobs ? 3 : 2);
            var k = (i % 4) + 1;
            if (kind < 2)
            {
                var cls = kind == 0 ? RequestClass.Latency : RequestClass.Throughput;
                specs.Add(Spec(id++, cls, t, random.Next(50, maxPrompt + 1), random.Next(20, maxOutput + 1), k));
                continue;
            }

            var stages = Enumerable.Range(0, random.Next(2, 4)).Select(_ => random.Next(1, 4)).ToArray();
            var calls = Job(id, id, t, stages, 1, 1).ToList();
            foreach (var call in calls)
            {
                specs.Add(call with { PromptTokens = random.Next(50, (maxPrompt / 2) + 1), OutputTokens = random.Next(20, (maxOutput / 2) + 1) });
            }

            id += calls.Count;
        }

        return new Workload($"synthetic-{arrivals}@{rate}", specs);
    }
}
