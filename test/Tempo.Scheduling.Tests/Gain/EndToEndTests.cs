using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling.Baselines;
using Tempo.Scheduling.Collective;
using Tempo.Scheduling.Gain.JitServe;
using Tempo.Scheduling.Gain.SelectEdf;
using Tempo.Scheduling.Prediction;
using Tempo.Workloads;

namespace Tempo.Scheduling.Tests.Gain;

public class EndToEndTests
{
    // Small and tight on purpose: preemption, swap and re-plans all happen within a few hundred steps.
    private static readonly EngineConfig Tight = new() { MaxBatch = 8, TokenBudget = 64, GpuBlocks = 96, CpuBlocks = 48, MaxModelLen = 1024 };

    public static TheoryData<string> Variants => ["default", "jit", "evict-out-of-group", "replan-every-3", "parallel-remaining", "qrf-less-fixed", "oracle", "slos-serve"];

    [Theory]
    [MemberData(nameof(Variants))]
    public void Run_MixedRequests_EveryRequestEndsOnceAndInvariantsHold(string variant)
    {
        var workload = MixedWorkload(seed: 7);
        var scheduler = Create(variant, workload);

        var (records, engine) = Drive(scheduler, workload);

        Assert.Equal(workload.Count, records.Count);
        Assert.Equal(workload.Count, records.Select(r => r.Spec.Id).Distinct().Count());
        Assert.False(engine.HasWork);
        Assert.True(records.Count(r => r.Completed) > workload.Count / 2, $"only {records.Count(r => r.Completed)} of {workload.Count} completed");
        Assert.Equal(0, engine.Kv.TotalGpuBlocks - engine.Kv.FreeGpuBlocks);
    }

    [Fact]
    public void Run_CollectiveJobsFinish_TemplatesGrow()
    {
        var workload = MixedWorkload(seed: 3);
        var tempo = TempoTestKit.Scheduler(config: Tight, templates: new TemplateLibrary());

        var (records, _) = Drive(tempo, workload);

        var jobsDone = records.Where(r => r.Spec.JobId is not null).GroupBy(r => r.Spec.JobId).Count(g => g.All(r => r.Completed));
        Assert.True(jobsDone > 0);
        Assert.Equal(jobsDone, tempo.Templates.Count);
        Assert.Empty(tempo.Jobs);
    }

    [Fact]
    public void Run_OverloadedTempo_RePlansAndSwaps()
    {
        var workload = MixedWorkload(seed: 11, spacingS: 0.01);
        var tempo = TempoTestKit.Scheduler(TempoOptions.Default with { ReplanInterval = 5 }, new FixedLengthPredictor(64), Tight);

        var (_, engine) = Drive(tempo, workload);

        Assert.True(tempo.Replans > 0);
        Assert.True(engine.Stats.SwapOuts + engine.Stats.Recomputes > 0, "a tight cache under overload should preempt");
    }

    private static IScheduler Create(string variant, List<RequestSpec> workload) => variant switch
    {
        "default" => TempoTestKit.Scheduler(config: Tight, predictor: new FixedLengthPredictor(48)),
        "jit" => TempoTestKit.Scheduler(TempoOptions.Default with { JustInTime = true, ReplanInterval = 7 }, config: Tight),
        "evict-out-of-group" => TempoTestKit.Scheduler(TempoOptions.Default with { EvictOutOfGroup = true, ReplanInterval = 4, CandidateFactor = 2 }, config: Tight),
        "replan-every-3" => TempoTestKit.Scheduler(TempoOptions.Default with { ReplanInterval = 3 }, new FixedLengthPredictor(16), Tight),
        "parallel-remaining" => TempoTestKit.Scheduler(TempoOptions.Default with { CollectiveRemaining = CollectiveRemainingWork.LongestLiveCall, ReplanInterval = 5 }, config: Tight),
        "qrf-less-fixed" => PolicyRegistry.Get("jitserve").Create(new SchedulerOptions { Engine = Tight }),
        "oracle" => PolicyRegistry.Get("jitserve-oracle").Create(new SchedulerOptions { Engine = Tight, TrueJobGraphs = JobGraphs.FromRequests(workload) }),
        "slos-serve" => PolicyRegistry.Get("slos-serve").Create(new SchedulerOptions { Engine = Tight }),
        _ => throw new ArgumentException(variant),
    };

    /// <summary>Latency and throughput requests, two ToT jobs and two deep-research jobs, with random lengths.</summary>
    private static List<RequestSpec> MixedWorkload(int seed, double spacingS = 0.05)
    {
        var rng = new Random(seed);
        var specs = new List<RequestSpec>();
        long id = 1;
        for (var i = 0; i < 40; i++)
        {
            var arrival = i * spacingS;
            var prompt = rng.Next(8, 200);
            var output = rng.Next(1, 120);
            specs.Add(i % 2 == 0
                ? TempoTestKit.Latency(id++, prompt, output, arrival, ttft: 0.5 * (1 + (i % 4)), tbt: 0.05 * (1 + (i % 4)))
                : TempoTestKit.Throughput(id++, prompt, output, deadline: 2 + (i % 4), arrival: arrival));
        }

        // A prompt too long for the model: rejected at submission, before the policy ever sees it.
        specs.Add(TempoTestKit.Throughput(id++, 1000, 100, arrival: 0.3));
        for (var job = 0; job < 4; job++)
        {
            var tot = job % 2 == 0;
            int[] pattern = tot ? [3, 1, 3, 1] : [1, 2, 1];
            for (var stage = 0; stage < pattern.Length; stage++)
            {
                for (var c = 0; c < pattern[stage]; c++)
                {
                    specs.Add(TempoTestKit.Call(id++, job: 100 + job, stage, pattern.Length, rng.Next(20, 150), rng.Next(5, 60),
                        jobDeadline: 6, jobArrival: 0.1 + (job * 0.2), app: tot ? "tot" : "deep-research"));
                }
            }
        }

        return specs;
    }

    /// <summary>
    /// A minimal driver: requests arrive at their time; collective stage k+1 is released when every call of stage k
    /// has ended. Checks the engine's invariants after every step.
    /// </summary>
    private static (List<RequestRecord> Records, EngineCore Engine) Drive(IScheduler scheduler, List<RequestSpec> workload)
    {
        var (engine, clock) = TempoTestKit.Engine(scheduler, Tight, stepS: 0.02);
        var records = new List<RequestRecord>();
        var outstanding = new Dictionary<(long Job, int Stage), int>();
        var pending = new List<RequestSpec>();
        foreach (var s in workload)
        {
            if (s.JobId is { } job)
            {
                outstanding[(job, s.Stage)] = outstanding.GetValueOrDefault((job, s.Stage)) + 1;
            }

            if (s.JobId is null || s.Stage == 0)
            {
                pending.Add(s);
            }
        }

        engine.RequestEnded += (_, rec) =>
        {
            records.Add(rec);
            if (rec.Spec.JobId is { } job && --outstanding[(job, rec.Spec.Stage)] == 0)
            {
                pending.AddRange(workload.Where(s => s.JobId == job && s.Stage == rec.Spec.Stage + 1));
            }
        };

        for (var step = 0; step < 200_000 && (engine.HasWork || pending.Count > 0); step++)
        {
            var due = pending.Where(s => s.JobId is not null ? s.ArrivalS <= clock.NowS || s.Stage > 0 : s.ArrivalS <= clock.NowS).ToList();
            foreach (var s in due)
            {
                pending.Remove(s);
                engine.Submit(s);
            }

            if (!engine.HasWork)
            {
                clock.AdvanceTo(pending.Min(s => s.ArrivalS));
                continue;
            }

            engine.Step();
            engine.CheckInvariants();
        }

        return (records, engine);
    }
}

public class SlosServeAdmissionTests
{
    [Fact]
    public void Solve_AllPromptsFitBeforeDeadlines_AdmitsAll()
    {
        var dp = new SlosServeAdmission();
        AdmissionCandidate[] c = [new(1.0, 100, 0.1, 500), new(2.0, 100, 0.1, 500)];
        var admitted = new bool[2];

        var value = dp.Solve(c, nowS: 0, unitTimeS: 0.02, tokenBudget: 512, runningDecodes: 0, admitted);

        Assert.Equal(1000, value);
        Assert.Equal([true, true], admitted);
    }

    [Fact]
    public void Solve_CapacityForOnlyOne_KeepsTheMoreValuable()
    {
        // Before the 0.05-s deadline there are 2 iterations of 100 tokens: room for one 150-token prompt.
        var dp = new SlosServeAdmission();
        AdmissionCandidate[] c = [new(0.05, 150, 0.1, 300), new(0.05, 150, 0.1, 900)];
        var admitted = new bool[2];

        var value = dp.Solve(c, nowS: 0, unitTimeS: 0.025, tokenBudget: 100, runningDecodes: 0, admitted);

        Assert.Equal(900, value);
        Assert.Equal([false, true], admitted);
    }

    [Fact]
    public void Solve_DeadlinePassed_Rejects()
    {
        var dp = new SlosServeAdmission();
        AdmissionCandidate[] c = [new(0.5, 10, 0.1, 100)];
        var admitted = new bool[1];

        Assert.Equal(0, dp.Solve(c, nowS: 1, unitTimeS: 0.02, tokenBudget: 512, runningDecodes: 0, admitted));
        Assert.False(admitted[0]);
    }

    [Fact]
    public void Solve_DominatedStatesPruned_SameOptimumAsTheFullDp()
    {
        var random = new Random(11);
        for (var trial = 0; trial < 40; trial++)
        {
            var n = random.Next(1, 24);
            var c = Enumerable.Range(0, n)
                .Select(i => new AdmissionCandidate(0.2 + (i * random.NextDouble() * 0.1), random.Next(10, 1500), random.Next(2) == 0 ? 0.05 * random.Next(1, 5) : 0, random.Next(10, 3000)))
                .OrderBy(x => x.DeadlineS)
                .ToArray();
            var budget = random.Next(64, 1024);
            var decodes = random.Next(0, 16);
            var pruned = new bool[n];
            var full = new bool[n];

            var prunedValue = new SlosServeAdmission().Solve(c, 0, 0.02, budget, decodes, pruned);
            var fullValue = new SlosServeAdmission(pruneDominated: false).Solve(c, 0, 0.02, budget, decodes, full);

            Assert.Equal(fullValue, prunedValue, 9);
            Assert.Equal(prunedValue, c.Where((_, i) => pruned[i]).Sum(x => x.Value), 9);
        }
    }

    [Fact]
    public void Solve_RunningDecodesTakeBudget_LessCapacity()
    {
        var dp = new SlosServeAdmission();
        AdmissionCandidate[] c = [new(0.1, 300, 0.1, 100)];
        var admitted = new bool[1];

        Assert.Equal(100, dp.Solve(c, 0, 0.02, tokenBudget: 64, runningDecodes: 0, admitted));
        Assert.Equal(0, dp.Solve(c, 0, 0.02, tokenBudget: 64, runningDecodes: 8, admitted));
    }
}

public class TempoRegistryTests
{
    [Theory]
    [InlineData("tempo")]
    [InlineData("tempo-oracle")]
    [InlineData("jitserve")]
    [InlineData("jitserve-oracle")]
    [InlineData("slos-serve")]
    public void Get_TempoPolicies_RegisteredWithChunkedBudget(string name)
    {
        var info = PolicyRegistry.Get(name);

        Assert.Equal(PolicyRegistry.ChunkedTokenBudget, info.DefaultTokenBudget);
        Assert.Equal(name, info.Create(new SchedulerOptions { Engine = new EngineConfig() }).Name);
    }

    [Fact]
    public void Create_TempoOptionsGiven_Validated()
    {
        var options = new SchedulerOptions { Engine = new EngineConfig(), Tempo = TempoOptions.Default with { ReplanInterval = 0 } };

        Assert.Throws<ArgumentException>(() => PolicyRegistry.Get("jitserve").Create(options));
    }

    [Theory]
    [InlineData(0.5, 1.5, 0.9, 0.9)]
    [InlineData(0.5, 0.8, 0, 0.9)]
    [InlineData(0.5, 0.8, 1, 0.9)]
    [InlineData(double.NaN, 0.8, 0.9, 0.9)]
    [InlineData(0.5, 0.8, double.NaN, 0.9)]
    [InlineData(0.5, 0.8, 0.9, 1)]
    [InlineData(0.5, 0.8, 0.9, double.NaN)]
    public void Create_SelectEdfOptionsGiven_Validated(double rank, double feasibility, double mayEarn, double dead)
    {
        var select = SelectEdfOptions.Default with
        {
            RankQuantile = rank,
            FeasibilityQuantile = feasibility,
            MayEarnQuantile = mayEarn,
            DeadLengthQuantile = dead,
        };
        var options = new SchedulerOptions { Engine = new EngineConfig(), SelectEdf = select };

        Assert.Throws<ArgumentException>(() => PolicyRegistry.Get("tempo").Create(options));
    }

    [Theory]
    [InlineData(0.99)]
    [InlineData(0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Create_StreamBandBelowOneOrNotFinite_Refused(double band)
    {
        var options = new SchedulerOptions { Engine = new EngineConfig(), SelectEdf = SelectEdfOptions.Default with { StreamBand = band } };

        Assert.Throws<ArgumentException>(() => PolicyRegistry.Get("tempo").Create(options));
    }
}
