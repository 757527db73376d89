using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling.Baselines;
using Tempo.Scheduling.Ordering;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Tests;

public class BaselineOrderTests
{
    private static IScheduler Policy(string name, ILengthPredictor? predictor = null) =>
        PolicyRegistry.Get(name).Create(new SchedulerOptions { Engine = Specs.Engine(), Predictor = predictor });

    [Fact]
    public void Priority_LowerNumberFirst_TiesByArrival()
    {
        var sim = new SimHarness(Policy("priority"), Specs.Engine()).Run(
        [
            Specs.Make(1, priority: 2),
            Specs.Make(2, priority: 0, arrival: 0),
            Specs.Make(3, priority: 1),
            Specs.Make(4, priority: 0),
        ]);

        Assert.Equal([2, 4, 3, 1], sim.FirstTokenOrder);
    }

    [Fact]
    public void Priority_KvFull_PreemptsLowestPriorityNotLatestArrival()
    {
        // Both need 4 blocks in the end; only 5 exist. The earlier arrival has the worse priority, so it goes.
        var sim = new SimHarness(Policy("priority"), Specs.Engine(maxBatch: 2, gpuBlocks: 5)).Run(
        [
            Specs.Make(1, prompt: 16, output: 40, priority: 5),
            Specs.Make(2, prompt: 16, output: 40, priority: 0),
        ]);

        Assert.Equal(0, sim.Requests[2].Recomputes);
        Assert.True(sim.Requests[1].Recomputes > 0);
        Assert.Equal([2, 1], sim.Records.Select(r => r.Spec.Id));
    }

    [Fact]
    public void ChunkedPrefill_DecodeNeedsKv_NeverPreemptsHigherRankedPrefill()
    {
        // Three low-priority decodes eat 3 of 4 tokens a step; a high-priority prompt prefills with the last one.
        // When the lowest-ranked decode needs a block, the only unplanned runner is the higher-ranked prefill:
        // evicting it would invert the order, so the decode must yield instead.
        var sim = new SimHarness(Policy("priority"), Specs.Engine(maxBatch: 4, tokenBudget: 4, gpuBlocks: 10)).Run(
        [
            Specs.Make(1, prompt: 8, output: 120, priority: 5),
            Specs.Make(2, prompt: 8, output: 120, priority: 5),
            Specs.Make(3, prompt: 8, output: 120, priority: 5),
            Specs.Make(4, prompt: 60, output: 2, priority: 0, arrival: 0.1),
        ]);

        Assert.Equal(0, sim.Requests[4].Recomputes);
        Assert.True(sim.Engine.Stats.Recomputes > 0, "the scenario must exercise preemption");
    }

    [Fact]
    public void Edf_ServesEarliestDeadlineFirst_OverdueLastLeastLateFirst()
    {
        var sim = new SimHarness(Policy("edf"), Specs.Engine()).Run(
        [
            Specs.Make(1, output: 50, slo: new Slo(1, 0.1, 100)),
            Specs.Make(2, arrival: 0.1, slo: new Slo(1, 0.1, 0.05)),
            Specs.Make(3, arrival: 0.1, slo: new Slo(1, 0.1, 0.2)),
            Specs.Make(4, arrival: 0.1, slo: new Slo(1, 0.1, 5)),
            Specs.Make(5, arrival: 0.1, cls: RequestClass.Latency, slo: new Slo(3, 0.5, 0)),
        ]);

        // At t = 0.5 the deadlines are 5.1 (4), 3.1 (5, its first token) and, overdue, 0.3 (3) and 0.15 (2).
        Assert.Equal([1, 5, 4, 3, 2], sim.FirstTokenOrder);
    }

    [Fact]
    public void Edf_Deadline_LatencyFollowsNextTokenThroughputAndCollectiveUseTheirDeadline()
    {
        var sim = new SimHarness(Policy("edf"), Specs.Engine());
        var latency = sim.Submit(Specs.Make(1, cls: RequestClass.Latency, output: 5, slo: new Slo(1, 0.25, 0)));
        var throughput = sim.Submit(Specs.Make(2, slo: new Slo(0, 0, 7)));
        var collective = sim.Submit(Specs.Make(3, cls: RequestClass.Collective, job: 9, slo: new Slo(0, 0, 30)) with { ArrivalS = 0 });

        Assert.Equal(1, DeadlineOrder.DeadlineS(latency));
        sim.Engine.Step();
        sim.Engine.Step();
        Assert.Equal(2, latency.Generated);
        Assert.Equal(1.5, DeadlineOrder.DeadlineS(latency), 12);
        Assert.Equal(7, DeadlineOrder.DeadlineS(throughput));
        Assert.Equal(30, DeadlineOrder.DeadlineS(collective));
    }

    [Fact]
    public void Sjf_ServesShorterPredictionFirst_OracleServesShorterTrueLength()
    {
        var predictor = new TablePredictor(new() { [1] = 50, [2] = 5 });
        RequestSpec[] specs = [Specs.Make(1, output: 5), Specs.Make(2, output: 50)];

        var sjf = new SimHarness(Policy("sjf", predictor), Specs.Engine()).Run(specs);
        var oracle = new SimHarness(Policy("oracle-sjf", predictor), Specs.Engine()).Run(specs);

        Assert.Equal([2, 1], sjf.FirstTokenOrder);
        Assert.Equal([1, 2], oracle.FirstTokenOrder);
    }

    [Fact]
    public void Sjf_NoPredictor_UsesFixed1024Bound()
    {
        var sim = new SimHarness(Policy("sjf"), Specs.Engine());

        var r = sim.Submit(Specs.Make(1, output: 5));

        Assert.Equal(FixedLengthPredictor.DefaultLength, r.LengthBound);
        Assert.IsAssignableFrom<ILengthPosterior>(r.PolicyState);
    }

    [Fact]
    public void Sjf_TokensGenerated_RefreshesBoundFromPosterior()
    {
        var predictor = new TablePredictor(new() { [1] = 3 }, grow: true);
        var sim = new SimHarness(Policy("sjf", predictor), Specs.Engine());
        var checkedSteps = 0;

        sim.Run([Specs.Make(1, output: 10)], afterStep: s =>
        {
            var r = s.Requests[1];
            if (r.State != RequestState.Finished)
            {
                Assert.Equal(Math.Max(3, 2 * r.Generated), r.LengthBound);
                checkedSteps++;
            }
        });

        Assert.Equal(9, checkedSteps);
    }

    [Fact]
    public void Autellix_PrefersProgramWithLessAttainedServiceCountingFinishedCalls()
    {
        RequestSpec[] specs =
        [
            Specs.Make(1, cls: RequestClass.Collective, job: 100, stage: 0, stageCount: 2, output: 450),
            Specs.Make(2, cls: RequestClass.Collective, job: 100, stage: 1, stageCount: 2, output: 5),
            Specs.Make(3, output: 100, arrival: 0.1),
            Specs.Make(4, output: 5, arrival: 5.0),
        ];
        var autellix = new AutellixScheduler();
        long? attainedAtRelease = null;

        var sim = new SimHarness(autellix, Specs.Engine()).Run(specs, afterStep: s =>
        {
            if (attainedAtRelease is null && s.Requests.TryGetValue(2, out var stage1))
            {
                attainedAtRelease = autellix.AttainedService(stage1);
            }
        });
        var fcfs = new SimHarness(Policy("sarathi"), Specs.Engine()).Run(specs);

        // The job's stage 1 is released at 4.5 s with 450 tokens attained (bucket 1); request 4 arrives later but
        // its program has attained nothing (bucket 0), so it goes first. FCFS serves by arrival instead.
        Assert.Equal(450, attainedAtRelease);
        Assert.Equal([1, 3, 4, 2], sim.FirstTokenOrder);
        Assert.Equal([1, 3, 2, 4], fcfs.FirstTokenOrder);
    }

    [Fact]
    public void Vtc_HeavyAndLightClient_AlternatesUntilLightRunsOut()
    {
        var heavy = Enumerable.Range(1, 6).Select(i => Specs.Make(i, output: 2, client: 0));
        var light = Enumerable.Range(11, 3).Select(i => Specs.Make(i, output: 2, client: 1));

        var sim = new SimHarness(Policy("vtc"), Specs.Engine()).Run(heavy.Concat(light));

        Assert.Equal([1, 11, 2, 12, 3, 13, 4, 5, 6], sim.FirstTokenOrder);
    }

    [Fact]
    public void Vtc_NewlyActiveClient_CounterLiftedToBackloggedMinimum()
    {
        var vtc = new VtcScheduler();
        var sim = new SimHarness(vtc, Specs.Engine());
        foreach (var id in new[] { 1, 2, 3 })
        {
            sim.Submit(Specs.Make(id, prompt: 100, output: 2, client: 0));
        }

        sim.Engine.Step();
        Assert.Equal((VtcScheduler.PromptWeight * 100) + VtcScheduler.OutputWeight, vtc.Counter(0));

        sim.Submit(Specs.Make(4, client: 1));

        Assert.Equal(vtc.Counter(0), vtc.Counter(1));
    }

    [Fact]
    public void Vllm_MixedLoad_NeverMixesPrefillAndDecodeAndNeverChunks()
    {
        var specs = Enumerable.Range(1, 30).Select(i => Specs.Make(i, prompt: 20 + (37 * i % 300), output: 5 + (13 * i % 60), arrival: i * 0.02));

        var sim = new SimHarness(Policy("vllm"), Specs.Engine(maxBatch: 8, tokenBudget: 1024, gpuBlocks: 60)).Run(specs);

        Assert.All(sim.Batches, b => Assert.True(b.Entries.All(e => e.IsDecode) || b.Entries.All(e => !e.IsDecode), "a step mixes prefill and decode"));
        Assert.All(sim.Batches.SelectMany(b => b.Entries).Where(e => !e.IsDecode), e => Assert.True(e.ProducesToken, "a prefill was chunked"));
        Assert.Contains(sim.Batches, b => b.Entries.Count > 1 && !b.Entries[0].IsDecode);
        Assert.True(sim.Engine.Stats.Recomputes > 0, "the load must exercise preemption");
        Assert.All(sim.Records, r => Assert.Equal(FinishReason.Length, r.Reason));
    }

    [Fact]
    public void Vllm_PromptLongerThanUnchunkedBudget_RejectedInsteadOfStalling()
    {
        var sim = new SimHarness(Policy("vllm"), Specs.Engine(maxBatch: 4, tokenBudget: 256)).Run(
        [
            Specs.Make(1, prompt: 300),
            Specs.Make(2, prompt: 100),
        ], maxSteps: 1000);

        var rejected = Assert.Single(sim.Records, r => r.Spec.Id == 1);
        Assert.Equal(FinishReason.Rejected, rejected.Reason);
        Assert.Contains("exceed", rejected.Detail);
        Assert.Equal(FinishReason.Length, Assert.Single(sim.Records, r => r.Spec.Id == 2).Reason);
    }

    [Fact]
    public void Sarathi_LongPromptArrives_ChunksWithinBudgetAndDecodesFirst()
    {
        var specs = new List<RequestSpec> { Specs.Make(1, prompt: 10, output: 20), Specs.Make(2, prompt: 1000, output: 2, arrival: 0.05) };
        specs.AddRange(Enumerable.Range(3, 20).Select(i => Specs.Make(i, prompt: 50 + (97 * i % 550), output: 1 + (31 * i % 100), arrival: 0.1 + (i * 0.03))));

        var sim = new SimHarness(Policy("sarathi"), Specs.Engine(maxBatch: 8, gpuBlocks: 80)).Run(specs);

        // Every step: decodes strictly before prefill chunks (the harness already checks the 512-token budget).
        Assert.All(sim.Batches, b => Assert.DoesNotContain(b.Entries.SkipWhile(e => e.IsDecode), e => e.IsDecode));
        var admitted = sim.Batches.First(b => b.Entries.Any(e => e.Request.Id == 2));
        Assert.Equal([(1L, 1), (2L, 511)], admitted.Entries.Select(e => (e.Request.Id, e.Tokens)));
        Assert.Contains(sim.Batches.SelectMany(b => b.Entries), e => !e.IsDecode && !e.ProducesToken);
    }

    /// <summary>Predicts a fixed bound per request id; optionally the bound doubles with generation.</summary>
    private sealed class TablePredictor(Dictionary<long, int> bounds, bool grow = false) : ILengthPredictor
    {
        public string Name => "table";

        public ILengthPosterior Predict(RequestSpec spec) => new Posterior(bounds[spec.Id], grow);

        private sealed class Posterior(int bound, bool grow) : ILengthPosterior
        {
            public int BoundAfter(int generated) => grow ? Math.Max(bound, 2 * generated) : Math.Max(bound, generated + 1);
        }
    }
}
