namespace Tempo.Engine;

/// <summary>
/// A scheduling policy. It reads a <see cref="SchedulerView"/> and returns a <see cref="StepPlan"/>; it never
/// changes engine state itself. Hooks let stateful policies (fair share, job tracking) follow lifecycles.
/// </summary>
public interface IScheduler
{
    /// <summary>Registry name of the policy.</summary>
    string Name { get; }

    /// <summary>Decides the next step.</summary>
    StepPlan Plan(SchedulerView view);

    /// <summary>Called when a request enters the engine.</summary>
    void OnArrival(EngineRequest request) { }

    /// <summary>Called after each executed step with the requests that produced a token.</summary>
    void OnStepExecuted(SchedulerView view, double durationS) { }

    /// <summary>Called once when a request ends, for whatever reason.</summary>
    void OnFinished(EngineRequest request) { }
}
