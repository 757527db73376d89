using Tempo.Engine;

namespace Tempo.Scheduling.Baselines;

/// <summary>
/// vLLM V0's default step without chunked prefill: if any waiting prompt fits, the step runs whole prompts
/// only (prefill-first, no mixing with decodes); otherwise it decodes the running requests, preempting the
/// newest by recompute when the KV cache is full, then swaps requests back in.
/// </summary>
internal sealed class PrefillFirstScheduler(string name, IComparer<EngineRequest> order) : ChunkedPrefillScheduler(name, order)
{
    /// <inheritdoc />
    public override StepPlan Plan(SchedulerView view)
    {
        // Like vLLM's max_num_seqs, the batch cap bounds the running set, so admission only fills free slots.
        var freeSlots = view.Config.MaxBatch - view.Running.Count;
        if (view.Swapped.Count == 0 && freeSlots > 0)
        {
            var prefill = view.NewBudget(freeSlots);
            foreach (var r in Sorted(view.Waiting))
            {
                // Whole prompts only: a prompt larger than what is left of the budget waits for the next step.
                var n = prefill.MaxTokensFor(r, allowChunking: false);
                if (n == 0 || !prefill.TrySchedule(r, n))
                {
                    break;
                }
            }

            if (prefill.Scheduled.Count > 0)
            {
                return prefill.Build();
            }
        }

        var budget = view.NewBudget();
        var preempted = ScheduleRunning(view, budget);
        if (!preempted)
        {
            ScheduleSwapped(view, budget);
        }

        return budget.Build();
    }
}
