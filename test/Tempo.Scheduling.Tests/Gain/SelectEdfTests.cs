using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling.Gain.SelectEdf;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Tests.Gain;

public class StepTimeModelTests
{
    [Fact]
    public void Observe_ProfileThirtyPercentOff_CorrectedWithinTwentySteps()
    {
        var model = new StepTimeModel(initialStepS: 0.02 * 1.3);

        for (var i = 0; i < 20; i++)
        {
            model.Observe(0.02, prefillTokens: 0);
        }

        Assert.InRange(model.DecodeS, 0.0199, 0.0201);
    }

    [Fact]
    public void Prior_StartsEachShapeFromItsOwnCost_AndScaledBiasesBoth()
    {
        var prior = new StepCostPrior(0.02, 0.07);

        var model = new StepTimeModel(prior.Scaled(1.3));

        Assert.Equal(0.026, model.DecodeS, 12);
        Assert.Equal(0.091, model.PrefillS, 12);
        Assert.Throws<ArgumentException>(() => prior.Scaled(0));
        Assert.Throws<ArgumentException>(() => new StepTimeModel(new StepCostPrior(0.02, double.NaN)));
    }

    [Fact]
    public void Observe_ShapesLearnedApart_NoisyStepsWidenTheMarginOnly()
    {
        var model = new StepTimeModel(0.02);
        for (var i = 0; i < 200; i++)
        {
            model.Observe(i % 2 == 0 ? 0.018 : 0.022, prefillTokens: 0);
            model.Observe(0.05, prefillTokens: 100);
        }

        Assert.InRange(model.DecodeS, 0.0195, 0.0205);
        Assert.InRange(model.PrefillS, 0.0499, 0.0501);
        Assert.True(model.TimeFor(1, 10, sigmas: 1) > model.TimeFor(1, 10, sigmas: 0));
        Assert.Equal(0.05 + (10 * model.DecodeS), model.TimeFor(1, 10, 0), 9);
    }
}

public class SelectEdfSchedulerTests
{
    private static readonly EngineConfig Config = new() { MaxBatch = 2, TokenBudget = 64, GpuBlocks = 512, CpuBlocks = 64 };

    private static SelectEdfScheduler Create(SelectEdfOptions? options = null) =>
        new("tempo", (options ?? SelectEdfOptions.Default) with { InitialStepS = 0.01 }, new OracleLengthPredictor());

    private static RequestSpec Throughput(long id, double arrival, int output, double deadlineS) =>
        Specs.Make(id, prompt: 8, output: output, arrival: arrival, slo: new Slo(1, 0.1, deadlineS));

    [Fact]
    public void LightLoad_TighterDeadlineServedFirst_LikeEdf()
    {
        // Both fit; the one with the least laxity must go first even though it arrived second.
        var h = new SimHarness(new SelectEdfScheduler("tempo", SelectEdfOptions.Default with { InitialStepS = 0.01 }, new OracleLengthPredictor()), Config with { MaxBatch = 1 });

        h.Run([Throughput(1, 0, output: 20, deadlineS: 5), Throughput(2, 0, output: 20, deadlineS: 0.5)]);

        Assert.Equal([2L, 1L], h.FirstTokenOrder);
        Assert.All(h.Records, r => Assert.True(r.E2eS <= r.Spec.Slo.DeadlineS));
    }

    [Fact]
    public void DeadRequest_GetsOnlyLeftoverCapacity()
    {
        // Request 1 cannot meet its deadline even alone (100 tokens at 10 ms > 0.3 s); the feasible one goes first.
        var h = new SimHarness(Create(), Config with { MaxBatch = 1 });

        h.Run([Throughput(1, 0, output: 100, deadlineS: 0.3), Throughput(2, 0, output: 10, deadlineS: 1)]);

        Assert.Equal(2L, h.FirstTokenOrder[0]);
        Assert.Equal(2, h.Records.Count);
    }

    [Theory]
    [InlineData(true, new long[] { 1, 3, 4, 2 })]
    [InlineData(false, new long[] { 1, 2, 4, 3 })]
    public void DeadWork_RunsLongestFirst_OnLeftoverCapacity(bool longestFirst, long[] firstTokenOrder)
    {
        // One slot, held first by the one feasible request; the other three cannot meet their deadlines even alone.
        // Longest first starts the 60-token one after it, so on a wider batch no long request would be left to run
        // alone at the end; by value density the shortest (densest with its count bonus) goes first.
        var h = new SimHarness(Create(SelectEdfOptions.Default with { DeadByLongest = longestFirst }), Config with { MaxBatch = 1 });

        h.Run([
            Throughput(1, 0, output: 10, deadlineS: 1),
            Throughput(2, 0, output: 5, deadlineS: 0.01),
            Throughput(3, 0, output: 60, deadlineS: 0.01),
            Throughput(4, 0, output: 30, deadlineS: 0.01)]);

        Assert.Equal(firstTokenOrder, h.FirstTokenOrder);
    }

    [Theory]
    [InlineData(true, new long[] { 1, 2, 3 })]
    [InlineData(false, new long[] { 1, 3, 2 })]
    public void DeadWork_AStreamThatMayStillEarn_GoesBeforeACallThatCannot(bool mayEarnFirst, long[] firstTokenOrder)
    {
        // One slot, held for 0.2 s by request 1. Stream 2 misses its first token; by then its tokens catch up with
        // its cumulative schedule only 2 ms each (T_b 12 ms, steps 10 ms), about 75 tokens late, past its typical
        // 10-token answer but well inside its 0.9 quantile of 400. Call 3 is past its deadline and earns nothing;
        // longest first on the median alone would start it (60 tokens) ahead of the stream (packing by the tail of the
        // length would not, so the case without the rule packs by the median). The stream really runs 300 tokens:
        // served first it earns its last 225, served after the call it is 375 tokens late and earns nothing.
        var predictor = new PosteriorTable(new()
        {
            [1] = new QuantilePosterior([20], [1.0], 0.8, null, 2),
            [2] = new QuantilePosterior([10, 400], [0.85, 1.0], 0.8, null, 2),
            [3] = new QuantilePosterior([60], [1.0], 0.8, null, 2),
        });
        var options = SelectEdfOptions.Default with
        {
            InitialStepS = 0.01,
            ReplanSteps = 1,
            DeadThatMayEarnFirst = mayEarnFirst,
            DeadLengthQuantile = mayEarnFirst ? SelectEdfOptions.Default.DeadLengthQuantile : SelectEdfOptions.Default.RankQuantile,
        };
        var h = new SimHarness(new SelectEdfScheduler("tempo", options, predictor), Config with { MaxBatch = 1 });

        h.Run([
            Throughput(1, 0, output: 20, deadlineS: 5),
            TempoTestKit.Latency(2, 8, 300, arrival: 0.01, ttft: 0.05, tbt: 0.012),
            Throughput(3, 0.02, output: 60, deadlineS: 0.3)]);

        Assert.Equal(firstTokenOrder, h.FirstTokenOrder);
        var earned = ServiceGain.OfLatency(h.Records.Single(r => r.Spec.Id == 2), new GainWeights());
        Assert.True(mayEarnFirst ? earned >= 8 * 200 : earned == 0, $"the stream earned {earned}");
    }

    [Theory]
    [InlineData(0.9, new long[] { 3, 1, 2 })]
    [InlineData(0.5, new long[] { 1, 2, 3 })]
    public void DeadWork_IsPackedByTheTailOfItsLength(double quantile, long[] firstTokenOrder)
    {
        // Three calls past their deadlines on two slots. Calls 1 and 2 are 40 tokens for sure; call 3 is typically 10
        // tokens but may run to 400 (its 0.9 quantile), and really runs 300. Packed by the tail, call 3 starts at once
        // beside call 1 and the run ends with it; packed by the median it starts only when a 40-token call is done, and
        // the run ends 40 steps later.
        var predictor = new PosteriorTable(new()
        {
            [1] = new QuantilePosterior([40], [1.0], 0.8, null, 2),
            [2] = new QuantilePosterior([40], [1.0], 0.8, null, 2),
            [3] = new QuantilePosterior([10, 400], [0.85, 1.0], 0.8, null, 2),
        });
        var options = SelectEdfOptions.Default with { InitialStepS = 0.01, ReplanSteps = 1, DeadLengthQuantile = quantile };
        var h = new SimHarness(new SelectEdfScheduler("tempo", options, predictor), Config);

        h.Run([
            Throughput(1, 0, output: 40, deadlineS: 0.001),
            Throughput(2, 0, output: 40, deadlineS: 0.001),
            Throughput(3, 0, output: 300, deadlineS: 0.001)]);

        Assert.Equal(firstTokenOrder, h.FirstTokenOrder);
        var end = h.Records.Max(r => r.FinishS);
        var steps = end / options.InitialStepS;
        Assert.True(quantile > 0.5 ? steps < 320 : steps > 330, $"the run ended after about {steps:0} steps");
    }

    [Theory]
    [InlineData(1.25, new long[] { 2, 1 })]
    [InlineData(1.5, new long[] { 2, 1 })]
    [InlineData(1, new long[] { 1, 2 })]
    public void DensityOrder_AStreamWinsANearTieWithACall(double band, long[] firstTokenOrder)
    {
        // One slot, value density in charge (as under overload), a 20-token call and a 21-token stream with 40-token
        // prompts: the shorter call is about 3% denser (1,879 against 1,831 a second). Read in bands of 1.25 or 1.5 the
        // two are equally dense and the stream, which cannot wait without missing its first token, goes first; by plain
        // density the call does.
        var options = SelectEdfOptions.Default with { UrgencyOrder = false, StreamBand = band };
        var h = new SimHarness(Create(options), Config with { MaxBatch = 1 });

        h.Run([TempoTestKit.Throughput(1, prompt: 40, output: 20, deadline: 5), TempoTestKit.Latency(2, 40, 21, arrival: 0, ttft: 1, tbt: 1)]);

        Assert.Equal(firstTokenOrder, h.FirstTokenOrder);
    }

    [Theory]
    [InlineData(6, new long[] { 1, 3, 2 })]
    [InlineData(1, new long[] { 1, 2, 3 })]
    public void DeadWork_AJobCallIsTimedToItsJobsEnd(int stages, long[] firstTokenOrder)
    {
        // A 20-token job call against a 40-token request. As the first of six stages its job still has five stages
        // to run, each reckoned as long as the job calls seen so far, so its chain is the longer and it goes first; as
        // a job's only stage it is just itself and goes second. (By value density the shorter call would go first in both.)
        var h = new SimHarness(Create(), Config with { MaxBatch = 1 });

        h.Run([
            Throughput(1, 0, output: 10, deadlineS: 1),
            TempoTestKit.Throughput(2, prompt: 8, output: 40, deadline: 0.01),
            TempoTestKit.Call(3, job: 7, stage: 0, stageCount: stages, prompt: 8, output: 20, jobDeadline: 0.01)]);

        Assert.Equal(firstTokenOrder, h.FirstTokenOrder);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Backlog_ALongJobNotStartedYet_WaitsBehindAShorterOne(bool longJobsWait, bool longFirst)
    {
        // One slot. At 0 s four 50-token calls due at 0.6 s arrive: one runs, and the three behind it cannot make it,
        // which is a backlog. At 0.05 s the first calls of a six-stage job (id 5) and a two-stage job (id 6) arrive,
        // alike but for their stage counts, with budgets so far off that both are safe. Jobs average four stages, so
        // under the backlog the six-stage one waits behind the other; without the rule the tie goes to the earlier id.
        var h = new SimHarness(Create(SelectEdfOptions.Default with { LongJobsWaitInBacklog = longJobsWait }), Config with { MaxBatch = 1 });

        h.Run([
            Throughput(1, 0, output: 50, deadlineS: 0.6),
            Throughput(2, 0, output: 50, deadlineS: 0.6),
            Throughput(3, 0, output: 50, deadlineS: 0.6),
            Throughput(4, 0, output: 50, deadlineS: 0.6),
            TempoTestKit.Call(5, job: 8, stage: 0, stageCount: 6, prompt: 8, output: 10, jobDeadline: 60, jobArrival: 0.05),
            TempoTestKit.Call(6, job: 9, stage: 0, stageCount: 2, prompt: 8, output: 10, jobDeadline: 60, jobArrival: 0.05)]);

        var order = h.FirstTokenOrder.ToList();
        Assert.Equal(longFirst, order.IndexOf(5) < order.IndexOf(6));
        Assert.All(h.Records, r => Assert.True(r.Completed));
    }

    [Theory]
    [InlineData(true, new long[] { 3, 2, 1 })]
    [InlineData(false, new long[] { 2, 3, 1 })]
    public void JobCall_ShortFirstStage_StartsInTimeForItsLongerLaterStages(bool atMeanCall, long[] firstTokenOrder)
    {
        // Job 7's first call is 2 tokens of a three-stage job due at 1.5 s; the job calls seen average 31 tokens (job
        // 5's 60-token call is the other). Reckoning each later stage as the mean call puts the call's latest start near
        // 0.85 s, before the 10-token request due at 1.2 s; reckoning them as long as this call puts it near 1.43 s,
        // after. Everything fits either way, so this is the urgency order, not a shed.
        var h = new SimHarness(Create(SelectEdfOptions.Default with { LaterStagesAtMeanCall = atMeanCall }), Config with { MaxBatch = 1 });

        h.Run([
            TempoTestKit.Call(1, job: 5, stage: 0, stageCount: 1, prompt: 8, output: 60, jobDeadline: 10),
            Throughput(2, 0, output: 10, deadlineS: 1.2),
            TempoTestKit.Call(3, job: 7, stage: 0, stageCount: 3, prompt: 8, output: 2, jobDeadline: 1.5)]);

        Assert.Equal(firstTokenOrder, h.FirstTokenOrder);
        Assert.All(h.Records, r => Assert.True(r.Completed));
    }

    [Fact]
    public void UrgentArrival_DisplacementOn_DisplacesADeadRunnerInTheSameStep()
    {
        var h = new SimHarness(Create(SelectEdfOptions.Default with { Preempt = true }), Config with { MaxBatch = 1 });

        h.Run([Throughput(1, 0, output: 400, deadlineS: 0.5), Throughput(2, 0.2, output: 5, deadlineS: 0.3)]);

        var urgent = h.Records.Single(r => r.Spec.Id == 2);
        Assert.True(urgent.TtftS <= 0.03, $"urgent request's first token after {urgent.TtftS} s");
        Assert.True(urgent.E2eS <= 0.3);
        Assert.Equal(FinishReason.Length, h.Records.Single(r => r.Spec.Id == 1).Reason); // the runner resumes after
    }

    [Fact]
    public void StreamThatLostItsTtft_StillServedForTheGainItCanEarn_BeforeADeadRequest()
    {
        // One slot, held by a 40-token runner: the stream misses its 50 ms TTFT and the 0.3 s throughput request its
        // deadline. Only the stream's later tokens can still earn gain (its 1 s TBT lets it catch up at once).
        var h = new SimHarness(Create(), Config with { MaxBatch = 1 });

        h.Run([Throughput(1, 0, output: 40, deadlineS: 5), TempoTestKit.Latency(2, 8, 20, arrival: 0.01, ttft: 0.05, tbt: 1), Throughput(3, 0.02, output: 5, deadlineS: 0.3)]);

        Assert.Equal([1L, 2L, 3L], h.FirstTokenOrder);
        var stream = h.Records.Single(r => r.Spec.Id == 2);
        Assert.True(ServiceGain.OfLatency(stream, new GainWeights()) >= 8 * 19, "the stream's later tokens should land on its cumulative schedule");
    }

    [Fact]
    public void ByDefault_UrgentArrivalWaitsForTheRunner()
    {
        var h = new SimHarness(Create(), Config with { MaxBatch = 1 });

        h.Run([Throughput(1, 0, output: 400, deadlineS: 0.5), Throughput(2, 0.2, output: 5, deadlineS: 0.3)]);

        Assert.True(h.Records.Single(r => r.Spec.Id == 2).E2eS > 0.3);
    }

    [Fact]
    public void Shedding_StreamThatCannotGetItsFirstTokenInTime_IsShedWithTheCode_TheOthersAreServed()
    {
        // One slot, held by a 40-token runner (0.4 s): the stream's 50 ms TTFT cannot be met, so it is shed before any
        // token. The stream that arrives later with a loose TTFT and the runner are served in full.
        var h = new SimHarness(Create(SelectEdfOptions.Default with { ShedUnattainable = true }), Config with { MaxBatch = 1 });

        h.Run([Throughput(1, 0, output: 40, deadlineS: 5), TempoTestKit.Latency(2, 8, 20, arrival: 0.01, ttft: 0.05, tbt: 1), TempoTestKit.Latency(3, 8, 5, arrival: 0.02, ttft: 5, tbt: 1)]);

        var shed = h.Records.Single(r => r.Spec.Id == 2);
        Assert.False(shed.Completed);
        Assert.True(SloShedding.IsShed(shed.Detail), shed.Detail);
        Assert.Empty(shed.TokenTimesS);
        Assert.All(h.Records.Where(r => r.Spec.Id != 2), r => Assert.True(r.Completed));
        Assert.Equal(3, h.Records.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1_000)]
    public void BetweenReplans_AQueuedRequestWhoseDeadlinePasses_FallsBehindTheOneStillFeasible(int replanSteps)
    {
        // One slot, held by a 30-token runner until about 0.3 s. Both queued calls arrive after the first re-plan, so
        // with 1,000 steps between re-plans only the clock can change their tiers. Call 2 starts out first (its latest
        // start is the earlier), but its deadline (0.25 s) passes while it waits: it must then yield to call 3.
        var h = new SimHarness(Create(SelectEdfOptions.Default with { ReplanSteps = replanSteps }), Config with { MaxBatch = 1 });

        h.Run([Throughput(1, 0, output: 30, deadlineS: 5), Throughput(2, 0.05, output: 10, deadlineS: 0.2), Throughput(3, 0.05, output: 10, deadlineS: 2)]);

        Assert.Equal([1L, 3L, 2L], h.FirstTokenOrder);
    }

    [Fact]
    public void BetweenReplans_WithoutTheClock_TheStaleOrderWouldServeTheDeadCallFirst()
    {
        // The control for the test above: while call 2 is still feasible when the slot frees, it goes first.
        var h = new SimHarness(Create(SelectEdfOptions.Default with { ReplanSteps = 1_000 }), Config with { MaxBatch = 1 });

        h.Run([Throughput(1, 0, output: 30, deadlineS: 5), Throughput(2, 0.05, output: 10, deadlineS: 0.6), Throughput(3, 0.05, output: 10, deadlineS: 2)]);

        Assert.Equal([1L, 2L, 3L], h.FirstTokenOrder);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void KeptPrices_TheWaitingHeadReadFromTheKeptOne_IsTheQueueRankedWhole(int seed, bool shed)
    {
        // Re-plans keep every price they can (no drift bound, no forced full re-plan); every waiting head read from the
        // kept one is checked against a ranking of the whole queue inside the scheduler, which throws on a difference.
        var scheduler = new SelectEdfScheduler("tempo", SelectEdfOptions.Default with { InitialStepS = 0.01, ReplanDrift = 1e9, FullReplanEvery = 1_000_000, ShedUnattainable = shed }, new OracleLengthPredictor())
        {
            VerifyKeptOrders = true,
        };
        var h = new SimHarness(scheduler, Config with { MaxBatch = 4 });

        h.Run(RandomMix(seed, 400));

        Assert.Equal(400, h.Records.Count);
        var (replans, kept) = scheduler.ReplanCounts;
        Assert.True(kept > replans / 2, $"only {kept} of {replans} re-plans kept prices");
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(3, 2)]
    [InlineData(8, 7)]
    public void KeptPrices_EveryNthReplanPricesEverything(int fullEvery, int keptOfEach)
    {
        var scheduler = new SelectEdfScheduler("tempo", SelectEdfOptions.Default with { InitialStepS = 0.01, ReplanDrift = 1e9, FullReplanEvery = fullEvery }, new OracleLengthPredictor());
        var h = new SimHarness(scheduler, Config with { MaxBatch = 4 });

        h.Run(RandomMix(4, 200));

        // The first re-plan prices everything (nothing is kept yet); then each run of `fullEvery` starts with a full one.
        var (replans, kept) = scheduler.ReplanCounts;
        Assert.InRange(kept, (replans - 1) / fullEvery * keptOfEach, ((replans - 1) / fullEvery * keptOfEach) + keptOfEach);
    }

    [Fact]
    public void KeptPrices_Off_EveryReplanPricesEverything()
    {
        var scheduler = Create(SelectEdfOptions.Default with { ReplanDrift = 0 });
        var h = new SimHarness(scheduler, Config with { MaxBatch = 4 });

        h.Run(RandomMix(5, 100));

        Assert.Equal(0, scheduler.ReplanCounts.KeptPrices);
        Assert.True(scheduler.ReplanCounts.Replans > 10);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public void KeptRunnerOrder_IsTheBatchRankedWhole_EvenWhenKvPressureEvicts(int seed)
    {
        // Between re-plans the runners' order is kept and merged; the scheduler checks every such order against a
        // ranking of the whole batch and throws on a difference. A small KV cache makes the order decide evictions.
        var scheduler = new SelectEdfScheduler("tempo", SelectEdfOptions.Default with { InitialStepS = 0.01 }, new OracleLengthPredictor())
        {
            VerifyKeptOrders = true,
        };
        var h = new SimHarness(scheduler, Config with { MaxBatch = 8, GpuBlocks = 48 });

        h.Run(RandomMix(seed, 300));

        Assert.Equal(300, h.Records.Count);
        Assert.True(h.Engine.Stats.Recomputes > 0, "no runner was evicted, so the order decided nothing");
    }

    // Streams, calls and jobs-free throughput arriving faster than a 4-sequence batch drains them, with deadlines from
    // hopeless to loose, so requests change tiers, get shed by the slot schedule and are preempted.
    private static List<RequestSpec> RandomMix(int seed, int count)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(1, count).Select(i => rng.Next(2) == 0
            ? TempoTestKit.Latency(i, rng.Next(4, 200), rng.Next(1, 40), arrival: i * 0.006, ttft: 0.05 + rng.NextDouble(), tbt: 0.01 + (0.1 * rng.NextDouble()))
            : Throughput(i, i * 0.006, output: rng.Next(1, 60), deadlineS: 0.2 + (6 * rng.NextDouble())))];
    }

    [Theory]
    [InlineData(true, new long[] { 1, 2, 3 })]
    [InlineData(false, new long[] { 1, 3, 2 })]
    public void SlotShed_WithoutABacklog_KeepsItsUrgencyPlace(bool keepPlace, long[] firstTokenOrder)
    {
        // Every length is believed to be 100 tokens (1 s), so the slot schedule expects the runner's slot at 1 s and
        // sheds the stream (TTFT 0.3 s). The runner really ends at 0.1 s. One shed is no backlog: kept in its place,
        // the stream goes before the call whose deadline is far off and gets its first token in time; put behind
        // every safe request, it waits for the call's 40 tokens and misses it.
        var scheduler = new SelectEdfScheduler("tempo", SelectEdfOptions.Default with { InitialStepS = 0.01, SlotShedKeepsPlace = keepPlace }, new FixedLengthPredictor(100));
        var h = new SimHarness(scheduler, Config with { MaxBatch = 1 });

        h.Run([Throughput(1, 0, output: 10, deadlineS: 30), TempoTestKit.Latency(2, 8, 5, arrival: 0.01, ttft: 0.3, tbt: 1), Throughput(3, 0.01, output: 40, deadlineS: 30)]);

        Assert.Equal(firstTokenOrder, h.FirstTokenOrder);
        Assert.Equal(keepPlace, h.Records.Single(r => r.Spec.Id == 2).TtftS <= 0.3);
    }

    [Fact]
    public void Shedding_Off_TheSameStreamIsServedLate()
    {
        var h = new SimHarness(Create(), Config with { MaxBatch = 1 });

        h.Run([Throughput(1, 0, output: 40, deadlineS: 5), TempoTestKit.Latency(2, 8, 20, arrival: 0.01, ttft: 0.05, tbt: 1)]);

        Assert.All(h.Records, r => Assert.True(r.Completed));
    }

    [Fact]
    public void Shedding_CallThatCouldStillFinishIfShort_IsKept_OneThatCannotFinishAtAll_IsShed()
    {
        // Behind a 40-token runner (0.4 s), call 2 needs 30 tokens by 0.45 s: late on its length, but a single token
        // would still make it, so it is not judged unattainable. Call 3's deadline passes before the slot frees.
        var h = new SimHarness(Create(SelectEdfOptions.Default with { ShedUnattainable = true }), Config with { MaxBatch = 1 });

        h.Run([Throughput(1, 0, output: 40, deadlineS: 5), Throughput(2, 0.01, output: 30, deadlineS: 0.45), Throughput(3, 0.01, output: 5, deadlineS: 0.1)]);

        Assert.False(SloShedding.IsShed(h.Records.Single(r => r.Spec.Id == 2).Detail));
        Assert.True(h.Records.Single(r => r.Spec.Id == 2).Completed);
        Assert.True(SloShedding.IsShed(h.Records.Single(r => r.Spec.Id == 3).Detail));
    }

    [Fact]
    public void Shedding_NeverEndsAStreamThatHasProducedATokenAlready()
    {
        // The stream gets its first token in time, then falls behind its 5 ms TBT at once (steps take 10 ms): it has
        // lost its SLO but keeps being served, because its client already has part of the answer.
        var h = new SimHarness(Create(SelectEdfOptions.Default with { ShedUnattainable = true }), Config with { MaxBatch = 1 });

        h.Run([TempoTestKit.Latency(1, 8, 20, arrival: 0, ttft: 1, tbt: 0.005)]);

        Assert.True(h.Records.Single().Completed);
    }

    /// <summary>Gives each request id the posterior listed for it.</summary>
    private sealed class PosteriorTable(Dictionary<long, ILengthPosterior> posteriors) : ILengthPredictor
    {
        public string Name => "posterior-table";

        public ILengthPosterior Predict(RequestSpec spec) => posteriors[spec.Id];
    }
}
