namespace Tempo.Engine;

/// <summary>
/// What a scheduler sees at the start of a step: the time, the three queues, the budgets and the KV state.
/// Read-only; the scheduler answers with a <see cref="StepPlan"/> built from <see cref="NewBudget"/>.
/// </summary>
public sealed class SchedulerView
{
    private readonly EngineCore _engine;

    internal SchedulerView(EngineCore engine) => _engine = engine;

    /// <summary>
    /// Current time in seconds. While the policy plans a step it is the instant planning began, however long planning
    /// takes: on a wall clock a decision must not depend on how far the clock moved while it was being made, and a
    /// replay of the run (which plans at that logged instant) must see the same time.
    /// </summary>
    public double NowS => _engine.PlanningAtS ?? _engine.Clock.NowS;

    /// <summary>Steps run so far.</summary>
    public long StepIndex => _engine.Steps;

    /// <summary>Duration of the previous step in seconds (0 before the first).</summary>
    public double LastStepDurationS => _engine.LastStepDurationS;

    /// <summary>Engine limits.</summary>
    public EngineConfig Config => _engine.Config;

    /// <summary>KV-cache state.</summary>
    public KvBlockManager Kv => _engine.Kv;

    /// <summary>Requests not holding KV, in queue order (recompute-preempted ones first, then arrivals).</summary>
    public IReadOnlyList<EngineRequest> Waiting => _engine.WaitingQueue;

    /// <summary>Requests holding GPU KV, in admission order.</summary>
    public IReadOnlyList<EngineRequest> Running => _engine.RunningQueue;

    /// <summary>Requests whose KV is in CPU swap space, oldest swap first.</summary>
    public IReadOnlyList<EngineRequest> Swapped => _engine.SwappedQueue;

    /// <summary>A fresh budget for this step, limited to <paramref name="maxSequences"/> sequences (default: the engine's batch cap).</summary>
    public StepBudget NewBudget(int? maxSequences = null) => new(Config, Kv, maxSequences ?? Config.MaxBatch, _engine.RunningQueue.Count);
}
