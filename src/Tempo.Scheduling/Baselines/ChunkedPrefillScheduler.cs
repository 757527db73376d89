using Tempo.Engine;

namespace Tempo.Scheduling.Baselines;

/// <summary>
/// Sarathi-Serve / vLLM chunked-prefill step (decode-first): running decodes, then running prefill chunks,
/// then swap-ins, then new prefills chunked to fill the token budget. Queues are visited in the order of
/// <paramref name="order"/> (FCFS for Sarathi; a priority key for the other baselines). When the KV cache cannot
/// grow a running request, the lowest-ordered running request is preempted, as in vLLM.
/// </summary>
internal class ChunkedPrefillScheduler(string name, IComparer<EngineRequest> order, PreemptionMode preemption = PreemptionMode.Recompute) : IScheduler
{
    /// <inheritdoc />
    public string Name { get; } = name;

    /// <summary>The queue order.</summary>
    protected IComparer<EngineRequest> Order { get; } = order;

    /// <inheritdoc />
    public virtual StepPlan Plan(SchedulerView view)
    {
        var budget = view.NewBudget();
        var preempted = ScheduleRunning(view, budget);
        if (!preempted)
        {
            ScheduleSwapped(view, budget);
        }

        ScheduleWaiting(view, budget);
        return budget.Build();
    }

    /// <summary>Decodes first, then in-progress prefills; returns true if anything was preempted.</summary>
    protected bool ScheduleRunning(SchedulerView view, StepBudget budget)
    {
        var running = Sorted(view.Running);
        var preempted = false;
        foreach (var phasePrefill in new[] { false, true })
        {
            for (var i = 0; i < running.Count; i++)
            {
                var r = running[i];
                if (r.IsPrefill != phasePrefill || budget.Contains(r))
                {
                    continue;
                }

                var n = budget.MaxTokensFor(r);
                if (n == 0 || budget.SequencesLeft == 0)
                {
                    continue;
                }

                // Free KV from the lowest-ordered runners until this one can grow, or give up on it.
                while (!budget.CanSchedule(r, n) && budget.BlocksNeeded(r, n) > budget.FreeGpuBlocks)
                {
                    var victim = LowestUnplanned(running, r, budget);
                    budget.Preempt(victim ?? r, preemption);
                    preempted = true;
                    if (victim is null)
                    {
                        break;
                    }
                }

                budget.TrySchedule(r, n);
            }
        }

        return preempted;
    }

    /// <summary>Swaps requests back in, in queue order, while they fit.</summary>
    protected void ScheduleSwapped(SchedulerView view, StepBudget budget)
    {
        foreach (var r in Sorted(view.Swapped))
        {
            var n = budget.MaxTokensFor(r);
            if (n == 0 || !budget.TrySchedule(r, n))
            {
                break;
            }
        }
    }

    /// <summary>Admits new prefills in queue order, chunked to the budget; stops at the first that does not fit.</summary>
    protected void ScheduleWaiting(SchedulerView view, StepBudget budget)
    {
        foreach (var r in Sorted(view.Waiting))
        {
            var n = budget.MaxTokensFor(r);
            if (n == 0 || !budget.TrySchedule(r, n))
            {
                break;
            }
        }
    }

    /// <summary>The queue sorted by <see cref="Order"/> (stable: ties keep queue order).</summary>
    protected List<EngineRequest> Sorted(IReadOnlyList<EngineRequest> queue)
    {
        var list = new List<EngineRequest>(queue);
        if (Order is not null)
        {
            // List.Sort is unstable; the comparer breaks ties by submission order.
            list.Sort(Order);
        }

        return list;
    }

    private static EngineRequest? LowestUnplanned(List<EngineRequest> running, EngineRequest except, StepBudget budget)
    {
        for (var i = running.Count - 1; i >= 0; i--)
        {
            if (!ReferenceEquals(running[i], except) && !budget.Contains(running[i]))
            {
                return running[i];
            }
        }

        return null;
    }
}
