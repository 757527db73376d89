using Tempo.Engine;
using Tempo.Scheduling.Collective;
using Tempo.Scheduling.Gain.JitServe;
using Tempo.Scheduling.Prediction;
using Tempo.Workloads;

namespace Tempo.Scheduling.Tests.Gain;

public class TempoSchedulerTests
{
    private static readonly EngineConfig Small = new() { MaxBatch = 4, TokenBudget = 256, GpuBlocks = 1024, CpuBlocks = 256 };

    [Fact]
    public void KeyOf_CollectivePeers_ShareIdenticalKeys()
    {
        var tempo = TempoTestKit.Scheduler(config: Small);
        var (engine, _) = TempoTestKit.Engine(tempo, Small);
        var a = engine.Submit(TempoTestKit.Call(1, job: 9, stage: 1, stageCount: 3, prompt: 100, output: 40));
        var b = engine.Submit(TempoTestKit.Call(2, job: 9, stage: 1, stageCount: 3, prompt: 900, output: 400));
        var other = engine.Submit(TempoTestKit.Call(3, job: 10, stage: 0, stageCount: 3, prompt: 100, output: 40));

        var ka = tempo.Book.KeyOf(a);
        var kb = tempo.Book.KeyOf(b);

        Assert.Equal(ka, kb);
        Assert.NotEqual(ka, tempo.Book.KeyOf(other));
        // Remaining time is the job's: the serial sum over live calls (Q17 default).
        Assert.Equal(tempo.UnitTime.CurrentS * 440, ka.RemainingS, 9);
    }

    [Fact]
    public void KeyOf_PeerFinishes_JobKeyRecomputed()
    {
        var tempo = TempoTestKit.Scheduler(config: Small);
        var (engine, _) = TempoTestKit.Engine(tempo, Small);
        var a = engine.Submit(TempoTestKit.Call(1, 9, 1, 3, 100, 40));
        var b = engine.Submit(TempoTestKit.Call(2, 9, 1, 3, 100, 400));
        var before = tempo.Book.KeyOf(a);

        engine.Abort(b, "test");

        Assert.NotEqual(before, tempo.Book.KeyOf(a));
        Assert.Equal(tempo.UnitTime.CurrentS * 40, tempo.Book.KeyOf(a).RemainingS, 9);
    }

    [Fact]
    public void OnArrival_CollectiveCall_DeadlineFromInclusiveStageShare()
    {
        var tempo = TempoTestKit.Scheduler(config: Small);
        var (engine, _) = TempoTestKit.Engine(tempo, Small);

        var first = engine.Submit(TempoTestKit.Call(1, job: 4, stage: 0, stageCount: 4, prompt: 50, output: 20, jobDeadline: 40, app: "tot"));

        Assert.Equal(15, PriorityBook.State(first).DeadlineS, 9);
        Assert.Same(tempo.Jobs[4], PriorityBook.State(first).Job);
    }

    [Fact]
    public void OnArrival_OracleGraphs_UsesPreciseShares()
    {
        var graphs = new Dictionary<long, RecordedJob> { [4] = new(4, [[new(10, 100)], [new(10, 300)]]) };
        var tempo = new TempoScheduler("tempo-oracle", Small, TempoOptions.Default, new OracleLengthPredictor(), new TemplateLibrary(), graphs);
        var (engine, _) = TempoTestKit.Engine(tempo, Small);

        var first = engine.Submit(TempoTestKit.Call(1, 4, 0, 2, 10, 100, jobDeadline: 40));

        Assert.Equal(10, PriorityBook.State(first).DeadlineS, 9);
    }

    [Fact]
    public void OnArrival_Predictor_SetsLengthBound()
    {
        var tempo = TempoTestKit.Scheduler(config: Small, predictor: new FixedLengthPredictor());
        var (engine, _) = TempoTestKit.Engine(tempo, Small);

        var r = engine.Submit(TempoTestKit.Throughput(1, 10, 5));

        Assert.Equal(FixedLengthPredictor.DefaultLength, r.LengthBound);
    }

    [Fact]
    public void OnStepExecuted_BoundReached_RefinedAndKeyRecomputed()
    {
        var tempo = TempoTestKit.Scheduler(config: Small, predictor: new FixedLengthPredictor(4));
        var (engine, _) = TempoTestKit.Engine(tempo, Small);
        var r = engine.Submit(TempoTestKit.Throughput(1, 10, 20, deadline: 100));

        for (var i = 0; i < 6; i++)
        {
            engine.Step();
        }

        Assert.True(r.LengthBound > r.Generated);
        Assert.True(r.LengthBound >= 5, $"bound {r.LengthBound} after {r.Generated} tokens");
        Assert.Equal(r.LengthBound, PriorityBook.State(r).LastBound);
        Assert.Equal(tempo.UnitTime.CurrentS * r.RemainingByBound, tempo.Book.KeyOf(r).RemainingS, 9);
    }

    [Fact]
    public void OnStepExecuted_StepsRun_UnitTimeMeasured()
    {
        var tempo = TempoTestKit.Scheduler(config: Small);
        var (engine, _) = TempoTestKit.Engine(tempo, Small, stepS: 0.05);
        engine.Submit(TempoTestKit.Throughput(1, 10, 20));

        engine.Step();
        engine.Step();

        Assert.Equal(0.05, tempo.UnitTime.CurrentS, 12);
    }

    [Fact]
    public void Replan_CollectiveJobShortOfRate_TopsUpPeers()
    {
        // B = 4: three dense singles and one peer of a 3-call stage make the group; with parallel remaining time
        // (Q17 option) the job is on time but needs 300 tokens in 5 s, 60 per 1-s plan period, more than one slot's 50.
        var options = TempoOptions.Default with { CollectiveRemaining = CollectiveRemainingWork.LongestLiveCall };
        var tempo = TempoTestKit.Scheduler(options, config: Small);
        var (engine, _) = TempoTestKit.Engine(tempo, Small);
        for (var i = 1; i <= 3; i++)
        {
            engine.Submit(TempoTestKit.Throughput(i, prompt: 1000, output: 2, deadline: 100));
        }

        for (var i = 4; i <= 6; i++)
        {
            engine.Submit(TempoTestKit.Call(i, job: 8, stage: 0, stageCount: 1, prompt: 10, output: 100, jobDeadline: 5));
        }

        tempo.Book.StartEpoch();
        tempo.Replan.Plan(engine.View, Small.MaxBatch);

        Assert.Equal(1, tempo.Replan.Last.ToppedUp);
        Assert.Equal(4, tempo.Replan.Last.Group.Count);
        Assert.Equal(2, tempo.Replan.Last.Group.Count(id => id >= 4));
    }

    [Fact]
    public void Replan_JobWithEnoughSlots_NoTopUp()
    {
        var tempo = TempoTestKit.Scheduler(config: Small);
        var (engine, _) = TempoTestKit.Engine(tempo, Small);
        for (var i = 4; i <= 6; i++)
        {
            engine.Submit(TempoTestKit.Call(i, 8, 0, 1, 10, 10, jobDeadline: 50));
        }

        tempo.Book.StartEpoch();
        tempo.Replan.Plan(engine.View, Small.MaxBatch);

        Assert.Equal(0, tempo.Replan.Last.ToppedUp);
    }

    [Fact]
    public void TopUpDemand_DeadlinePassed_Zero()
    {
        Assert.Equal(0, ReplanSelector.TopUpDemand(100, 0, 1));
        Assert.Equal(20, ReplanSelector.TopUpDemand(100, 5, 1), 9);
    }

    [Fact]
    public void Replan_FullBatchDenserWaiting_ActivatesAtMostSAndEvictsLeastDense()
    {
        var config = Small with { MaxBatch = 4 };
        var options = TempoOptions.Default with { ReplanInterval = 1000 };
        var tempo = TempoTestKit.Scheduler(options, config: config);
        var (engine, clock) = TempoTestKit.Engine(tempo, config);

        // Four short runners, then (long prompts, so out of the runners' length range) dense newcomers.
        for (var i = 1; i <= 4; i++)
        {
            engine.Submit(TempoTestKit.Throughput(i, prompt: 8, output: 500, deadline: 1000));
        }

        engine.Step();
        engine.Step();
        Assert.Equal(4, engine.View.Running.Count);
        for (var i = 10; i < 16; i++)
        {
            engine.Submit(TempoTestKit.Throughput(i, prompt: 600, output: 3, deadline: 1000));
        }

        tempo.Book.NowS = clock.NowS;
        tempo.Book.StartEpoch();
        var plan = tempo.Replan.Plan(engine.View, config.MaxBatch);

        var report = tempo.Replan.Last;
        Assert.Equal(options.MaxSwapsPerReplan, report.OutOfGroup);
        Assert.Equal(3, report.Activations.Count);
        Assert.All(report.Activations, id => Assert.True(id >= 10));
        Assert.Equal(3, report.Evictions.Count);
        Assert.All(plan.Preemptions, p => Assert.Equal(PreemptionMode.Swap, p.Mode));
        Assert.Equal(4, plan.Scheduled.Count);
    }

    [Fact]
    public void Deferrable_StreamAheadOfPace_OnlyWhileNextTokenDueAtLeastTwoUnitsAway()
    {
        var tempo = TempoTestKit.Scheduler(config: Small);
        var (engine, clock) = TempoTestKit.Engine(tempo, Small);
        var r = engine.Submit(TempoTestKit.Latency(1, prompt: 10, output: 100, ttft: 1, tbt: 0.5));
        while (r.Generated < 3)
        {
            engine.Step();
        }

        var last = r.TokenTimesS[^1];

        // The cumulative schedule allows token 3 until 2.5 s, but the strict gap only until last + 0.5 s.
        Assert.True(JustInTime.Deferrable(r, clock.NowS, u: 0.02));
        Assert.True(JustInTime.Deferrable(r, last + 0.46, u: 0.02));
        Assert.False(JustInTime.Deferrable(r, last + 0.47, u: 0.02));
    }

    [Fact]
    public void Deferrable_ThroughputWithoutSlack_NotDeferred()
    {
        var tempo = TempoTestKit.Scheduler(config: Small);
        var (engine, _) = TempoTestKit.Engine(tempo, Small);
        var r = engine.Submit(TempoTestKit.Throughput(1, prompt: 10, output: 100, deadline: 3));
        engine.Step();

        Assert.True(JustInTime.Deferrable(r, 0.02, u: 0.02));
        Assert.False(JustInTime.Deferrable(r, 1.0, u: 0.02));
    }
}
