using Tempo.Engine;

namespace Tempo.Scheduling;

/// <summary>
/// The one preemption rule every chunked step shares (vLLM's): when the KV cache cannot grow a running request, free
/// blocks by preempting the lowest-ordered runner ranked below it that is not yet in the plan, one at a time, and
/// preempt the request itself when none is left. Only runners ranked below it are victims: freeing a higher-ranked
/// one would invert the policy's order. Each policy passes its runners in its own order (arrival for FCFS, priority
/// or density for the others) and its preemption mode.
/// </summary>
internal static class RunnerEviction
{
    /// <summary>
    /// Makes room for <paramref name="tokens"/> more tokens of <c>ordered[index]</c>; true when anything was preempted
    /// (the request itself included, in which case it is no longer schedulable this step).
    /// </summary>
    public static bool MakeRoom(IReadOnlyList<EngineRequest> ordered, int index, int tokens, StepBudget budget, PreemptionMode mode)
    {
        var r = ordered[index];
        var preempted = false;
        while (!budget.CanSchedule(r, tokens) && budget.BlocksNeeded(r, tokens) > budget.FreeGpuBlocks)
        {
            var victim = LowestUnplannedBelow(ordered, index, budget);
            budget.Preempt(victim ?? r, mode);
            preempted = true;
            if (victim is null)
            {
                break;
            }
        }

        return preempted;
    }

    private static EngineRequest? LowestUnplannedBelow(IReadOnlyList<EngineRequest> ordered, int index, StepBudget budget)
    {
        for (var j = ordered.Count - 1; j > index; j--)
        {
            if (!budget.Contains(ordered[j]))
            {
                return ordered[j];
            }
        }

        return null;
    }
}
