namespace Tempo.Engine.Tests;

/// <summary>The step budget's accounting and the engine's check of the plans it is handed.</summary>
public class StepBudgetTests
{
    private static (EngineCore Engine, PlanWith Scheduler, List<EngineRequest> Requests) Engine(EngineConfig config, params (int Prompt, int Output)[] requests)
    {
        var scheduler = new PlanWith();
        var engine = TestEngines.Create(scheduler, config);
        var live = requests.Select((r, i) => engine.Submit(TestEngines.Spec(i + 1, r.Prompt, r.Output))).ToList();
        return (engine, scheduler, live);
    }

    [Fact]
    public void ARequestBeyondTheTokenOrSequenceBudget_IsRefused_AndTheRefusalChangesNothing()
    {
        var (engine, scheduler, r) = Engine(new EngineConfig { MaxBatch = 2, TokenBudget = 200, GpuBlocks = 64 }, (50, 5), (180, 5), (50, 5));
        scheduler.Next = view =>
        {
            var budget = view.NewBudget();
            Assert.True(budget.TrySchedule(r[0], 50));

            Assert.False(budget.TrySchedule(r[1], 160));
            Assert.Equal("token budget", budget.Why(r[1], 160));
            Assert.Equal((150, 1), (budget.TokensLeft, budget.SequencesLeft));

            Assert.True(budget.TrySchedule(r[1], 50)); // a chunk of its 180-token prompt
            Assert.Equal("sequence budget", budget.Why(r[2], 1));
            Assert.Equal("already in the plan", budget.Why(r[0], 1));
            Assert.Equal("tokens 0 outside 1..50", budget.Why(r[2], 0));
            return budget.Build();
        };

        engine.Step();

        Assert.All(r.Take(2), x => Assert.Equal(RequestState.Running, x.State));
        Assert.Equal(RequestState.Waiting, r[2].State);
    }

    [Fact]
    public void KvBlocks_AreCountedAsWorkIsPlanned_AndFreedByAPreemption()
    {
        // 10 blocks of 16 tokens: a 100-token prompt takes 7, so the second one does not fit beside the first.
        var (engine, scheduler, r) = Engine(new EngineConfig { GpuBlocks = 10, BlockSize = 16, WatermarkFraction = 0 }, (100, 5), (100, 5));
        scheduler.Next = view =>
        {
            var budget = view.NewBudget();
            Assert.True(budget.TrySchedule(r[0], 100));
            Assert.Equal(3, budget.FreeGpuBlocks);
            Assert.Equal("KV blocks", budget.Why(r[1], 100));
            return budget.Build();
        };
        engine.Step();

        scheduler.Next = view =>
        {
            var budget = view.NewBudget();
            budget.Preempt(r[0], PreemptionMode.Recompute);
            Assert.Equal(10, budget.FreeGpuBlocks);
            Assert.True(budget.TrySchedule(r[1], 100));
            return budget.Build();
        };
        engine.Step();

        Assert.Equal(RequestState.Waiting, r[0].State);
        Assert.Equal(RequestState.Running, r[1].State);
        engine.CheckInvariants();
    }

    [Fact]
    public void PreemptingWhatDoesNotRun_OrDroppingWhatIsPlanned_Throws()
    {
        var (engine, scheduler, r) = Engine(new EngineConfig { GpuBlocks = 64 }, (20, 5), (20, 5));
        scheduler.Next = view =>
        {
            var budget = view.NewBudget();
            Assert.Throws<InvalidOperationException>(() => budget.Preempt(r[0], PreemptionMode.Recompute));
            Assert.True(budget.TrySchedule(r[0], 20));
            Assert.Throws<InvalidOperationException>(() => budget.Drop(r[0], "test"));
            budget.Drop(r[1], "not wanted");
            return budget.Build();
        };

        engine.Step();

        Assert.Equal(RequestState.Finished, r[1].State);
    }

    [Fact]
    public void ABudgetKnowsWhatItPlanned_AfterANewerBudgetTookOverTheStamps()
    {
        var (engine, scheduler, r) = Engine(new EngineConfig { GpuBlocks = 64 }, (20, 5), (20, 5));
        scheduler.Next = view =>
        {
            var older = view.NewBudget();
            Assert.True(older.TrySchedule(r[0], 20));
            var newer = view.NewBudget();
            Assert.True(newer.TrySchedule(r[1], 20));

            Assert.True(older.Contains(r[0]));
            Assert.False(older.Contains(r[1]));
            Assert.True(older.TrySchedule(r[1], 20));  // a later change to the older budget still sees its own plan
            Assert.True(older.Contains(r[1]));
            Assert.False(newer.Contains(r[0]));
            return newer.Build();
        };

        engine.Step();

        Assert.Equal(RequestState.Running, r[1].State);
        Assert.Equal(RequestState.Waiting, r[0].State);
    }

    [Fact]
    public void APlanThatNoLongerFits_IsRefusedByTheEngine()
    {
        // The first plan prefills the whole prompt. Handed back a step later, it asks for 50 tokens of a request that
        // now has one to decode: the engine replays it against the current state and refuses it.
        var (engine, scheduler, r) = Engine(new EngineConfig { GpuBlocks = 64 }, (50, 5));
        StepPlan? first = null;
        scheduler.Next = view =>
        {
            var budget = view.NewBudget();
            budget.TrySchedule(r[0], 50);
            return first = budget.Build();
        };
        engine.Step();
        scheduler.Next = _ => first!;

        var e = Assert.Throws<InvalidOperationException>(() => engine.Step());

        Assert.Contains("does not fit", e.Message, StringComparison.Ordinal);
        Assert.Contains("tokens 50 outside 1..1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANewRequest_NeedsABatchSlotNoRunningRequestHolds_EvenWhenTheStepHasSequencesToSpare()
    {
        // Two slots, both held by running prefills; the step runs only one of them, yet a third request cannot start:
        // a real engine keeps the KV of the one left out, and has no third slot for it.
        var (engine, scheduler, r) = Engine(new EngineConfig { MaxBatch = 2, TokenBudget = 64, GpuBlocks = 64 }, (100, 5), (100, 5), (10, 5));
        scheduler.Next = view =>
        {
            var budget = view.NewBudget();
            budget.TrySchedule(r[0], 32);
            budget.TrySchedule(r[1], 32);
            return budget.Build();
        };
        engine.Step();
        scheduler.Next = view =>
        {
            var budget = view.NewBudget();
            Assert.Equal(0, budget.ResidentSlotsLeft);
            Assert.True(budget.TrySchedule(r[0], 32));
            Assert.Equal(1, budget.SequencesLeft);
            Assert.False(budget.TrySchedule(r[2], 10));
            Assert.StartsWith("batch slots", budget.Why(r[2], 10), StringComparison.Ordinal);

            // Preempting the other runner frees its slot.
            budget.Preempt(r[1], PreemptionMode.Recompute);
            Assert.True(budget.TrySchedule(r[2], 10));
            return budget.Build();
        };
        engine.Step();

        Assert.Equal(RequestState.Running, r[2].State);
        Assert.Equal(RequestState.Waiting, r[1].State);
        engine.CheckInvariants();
    }

    [Fact]
    public void APlanThatStartsMoreSequencesThanTheBatchHolds_IsRefusedByTheEngine()
    {
        // A plan built while two requests ran, handed back after the engine admitted both: the replay sees the slots held.
        var (engine, scheduler, r) = Engine(new EngineConfig { MaxBatch = 2, TokenBudget = 64, GpuBlocks = 64 }, (100, 5), (100, 5), (10, 5));
        StepPlan? stale = null;
        scheduler.Next = view =>
        {
            var budget = view.NewBudget();
            budget.TrySchedule(r[0], 32);
            var plan = budget.Build();
            var other = view.NewBudget();
            other.TrySchedule(r[2], 10);
            stale = other.Build();
            return plan;
        };
        engine.Step();
        scheduler.Next = view =>
        {
            var budget = view.NewBudget();
            budget.TrySchedule(r[1], 32);
            return budget.Build();
        };
        engine.Step();
        scheduler.Next = _ => stale!;

        var e = Assert.Throws<InvalidOperationException>(() => engine.Step());

        Assert.Contains("batch slots", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePolicySeesOneInstantWhilePlanning_HoweverLongItTakes()
    {
        var clock = new TickingClock();
        var seen = new List<double>();
        var scheduler = new PlanWith
        {
            Next = view =>
            {
                seen.Add(view.NowS);
                seen.Add(view.NowS);
                return view.NewBudget().Build();
            },
        };
        var engine = new EngineCore(new EngineConfig { GpuBlocks = 64 }, scheduler, new TestEngines.FixedStepExecutor(new VirtualClock(), 0.01), clock);
        engine.Submit(TestEngines.Spec(1, 10, 5));

        engine.Step();

        Assert.Equal(seen[0], seen[1]);
        Assert.True(engine.View.NowS > seen[0], "outside planning the view reads the clock");
    }

    /// <summary>A clock that moves a millisecond every time it is read, as a wall clock moves while code runs.</summary>
    private sealed class TickingClock : IClock
    {
        private double _now;

        public double NowS => _now += 0.001;
    }

    /// <summary>A scheduler whose next plan the test writes.</summary>
    private sealed class PlanWith : IScheduler
    {
        public Func<SchedulerView, StepPlan> Next { get; set; } = view => view.NewBudget().Build();

        public string Name => "test";

        public StepPlan Plan(SchedulerView view) => Next(view);
    }
}
