using Tempo.Core;

namespace Tempo.Engine.Tests;

/// <summary>Small engines for tests: a fixed-duration executor on a virtual clock.</summary>
internal static class TestEngines
{
    public static EngineCore Create(IScheduler scheduler, EngineConfig? config = null, double stepS = 0.01)
    {
        var clock = new VirtualClock();
        return new(config ?? new EngineConfig { GpuBlocks = 256, CpuBlocks = 64 }, scheduler, new FixedStepExecutor(clock, stepS), clock);
    }

    public static RequestSpec Spec(long id, int prompt, int output, RequestClass cls = RequestClass.Throughput, double arrival = 0) =>
        Specs.Make(id, prompt, output, cls, arrival);

    /// <summary>Runs until idle or <paramref name="maxSteps"/>; checks invariants after every step.</summary>
    public static List<RequestRecord> RunToEnd(EngineCore engine, int maxSteps = 100_000)
    {
        var records = new List<RequestRecord>();
        engine.RequestEnded += (_, rec) => records.Add(rec);
        for (var i = 0; i < maxSteps && engine.HasWork; i++)
        {
            engine.Step();
            engine.CheckInvariants();
        }

        return records;
    }

    internal sealed class FixedStepExecutor(VirtualClock clock, double stepS) : IExecutor
    {
        public StepResult Execute(StepBatch batch)
        {
            clock.Advance(stepS);
            return new(stepS);
        }
    }

    /// <summary>Schedules everything it can, FCFS, no preemption: enough to exercise the engine alone.</summary>
    internal sealed class GreedyScheduler : IScheduler
    {
        public string Name => "greedy";

        public StepPlan Plan(SchedulerView view)
        {
            var budget = view.NewBudget();
            foreach (var r in view.Running.Concat(view.Waiting))
            {
                var n = budget.MaxTokensFor(r);
                if (n > 0)
                {
                    budget.TrySchedule(r, n);
                }
            }

            return budget.Build();
        }
    }
}
