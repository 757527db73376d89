using Tempo.Engine;
using Tempo.Scheduling.Ordering;

namespace Tempo.Scheduling.Baselines;

/// <summary>
/// vLLM V0's default step without chunked prefill: if any waiting prompt fits, the step runs whole prompts
/// only (prefill-first, no mixing with decodes); otherwise it decodes the running requests, preempting the
/// lowest-ordered by recompute when the KV cache is full, then swaps requests back in.
/// </summary>
internal class PrefillFirstScheduler(string name, RequestOrder order) : ChunkedPrefillScheduler(name, order)
{
    // Reused every step (usually empty) so that the scan of the waiting queue allocates nothing.
    private readonly List<EngineRequest> _tooLong = [];

    /// <inheritdoc />
    protected sealed override StepPlan PlanStep(SchedulerView view)
    {
        // Without chunking a prompt longer than the token budget can never run; vLLM marks it FINISHED_IGNORED
        // ("exceeds limit"). Leaving it queued would stall the engine forever once the running set drains.
        var tooLong = _tooLong;
        tooLong.Clear();
        var waiting = view.Waiting;
        for (var i = 0; i < waiting.Count; i++)
        {
            if (waiting[i].PendingTokens > view.Config.TokenBudget)
            {
                tooLong.Add(waiting[i]);
            }
        }

        // Like vLLM's max_num_seqs, the batch cap bounds the running set, so admission only fills free slots.
        var freeSlots = view.Config.MaxBatch - view.Running.Count;
        if (view.Swapped.Count == 0 && freeSlots > 0)
        {
            var prefill = view.NewBudget(freeSlots);
            DropAll(prefill, tooLong, view.Config.TokenBudget);
            AdmitWholePrompts(view, prefill);
            if (prefill.Scheduled.Count > 0)
            {
                return prefill.Build();
            }
        }

        var budget = view.NewBudget();
        DropAll(budget, tooLong, view.Config.TokenBudget);
        var preempted = ScheduleRunning(view, budget);
        if (!preempted)
        {
            ScheduleSwapped(view, budget);
        }

        return budget.Build();
    }

    /// <summary>
    /// Fills <paramref name="prefill"/> with whole prompts from the waiting queue, in queue order, stopping at the
    /// first that does not fit (vLLM's head-of-line rule). Policies with a dynamic admission order override this.
    /// </summary>
    protected virtual void AdmitWholePrompts(SchedulerView view, StepBudget prefill)
    {
        var waiting = Sorted(view.Waiting);
        for (var i = 0; i < waiting.Count; i++)
        {
            var r = waiting[i];
            if (prefill.Contains(r))
            {
                continue;
            }

            // Whole prompts only: a prompt larger than what is left of the budget waits for the next step.
            var n = prefill.MaxTokensFor(r, allowChunking: false);
            if (n == 0 || !prefill.TrySchedule(r, n))
            {
                break;
            }
        }
    }

    private static void DropAll(StepBudget budget, List<EngineRequest> tooLong, int tokenBudget)
    {
        foreach (var r in tooLong)
        {
            budget.Drop(r, $"{r.PendingTokens} tokens to prefill exceed the unchunked step budget of {tokenBudget}");
        }
    }
}
