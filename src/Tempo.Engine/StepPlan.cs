using Tempo.Core;

namespace Tempo.Engine;

/// <summary>One request's work in a step: <see cref="Tokens"/> prompt tokens (prefill chunk) or 1 (decode).</summary>
/// <param name="Request">The request.</param>
/// <param name="Tokens">Tokens to process this step.</param>
public readonly record struct ScheduledWork(EngineRequest Request, int Tokens);

/// <summary>A running request to preempt before the step runs.</summary>
/// <param name="Request">The victim.</param>
/// <param name="Mode">Requested mode; the engine falls back to recompute when swap space is short.</param>
public readonly record struct Preemption(EngineRequest Request, PreemptionMode Mode);

/// <summary>A request the scheduler ends without serving it further.</summary>
/// <param name="Request">The request.</param>
/// <param name="Reason"><see cref="FinishReason.Rejected"/> (never admitted) or <see cref="FinishReason.Aborted"/>.</param>
/// <param name="Detail">Human-readable reason.</param>
public readonly record struct Drop(EngineRequest Request, FinishReason Reason, string Detail);

/// <summary>
/// A scheduler's decision for one engine step: who is dropped, who is preempted and how, and who runs with how
/// many tokens. Built with a <see cref="StepBudget"/>, which guarantees it fits the step's budgets.
/// </summary>
public sealed class StepPlan
{
    internal StepPlan(IReadOnlyList<ScheduledWork> scheduled, IReadOnlyList<Preemption> preemptions, IReadOnlyList<Drop> drops, StepBudget? source = null)
    {
        Scheduled = scheduled;
        Preemptions = preemptions;
        Drops = drops;
        Source = source;
        ReplayNeeded = source is null || source.ReplayNeeded;
    }

    /// <summary>The budget that built the plan (null if none).</summary>
    internal StepBudget? Source { get; }

    /// <summary>False when the budget's own checks already prove the plan passes the engine's replay.</summary>
    internal bool ReplayNeeded { get; }

    /// <summary>Work to run this step, in batch order.</summary>
    public IReadOnlyList<ScheduledWork> Scheduled { get; }

    /// <summary>Preemptions applied before the step.</summary>
    public IReadOnlyList<Preemption> Preemptions { get; }

    /// <summary>Requests ended by the scheduler.</summary>
    public IReadOnlyList<Drop> Drops { get; }

    /// <summary>Total tokens processed by the step.</summary>
    public int TotalTokens => Scheduled.Sum(s => s.Tokens);
}
