using Tempo.Engine;
using Tempo.Scheduling.Ordering;

namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>Admits waiting (and optionally swapped) requests in priority order into what is left of a step's budget.</summary>
internal static class PriorityAdmission
{
    /// <summary>
    /// Starts the best pending requests, chunking prefills to the token budget, and stops at the first that does
    /// not fit (vLLM's head-of-line rule, so a big request is not starved by smaller ones behind it), or after
    /// <paramref name="maxAdmissions"/>. Only as many candidates as can be admitted are ranked, in one pass over the queues.
    /// </summary>
    /// <remarks>
    /// Deviation (Q12 spirit): swapped requests compete in the same density order as waiting ones instead of being
    /// swapped back FIFO ahead of every arrival, so a request a re-plan evicted for low density does not return at
    /// the next free slot ahead of denser work.
    /// </remarks>
    public static int Admit(SchedulerView view, StepBudget budget, Ranking top, double nowS, bool includeSwapped, int maxAdmissions = int.MaxValue)
    {
        if (budget.SequencesLeft == 0 || budget.TokensLeft == 0 || maxAdmissions <= 0)
        {
            return 0;
        }

        top.Reset(Math.Min(budget.SequencesLeft, maxAdmissions), nowS);
        var waiting = view.Waiting;
        for (var i = 0; i < waiting.Count; i++)
        {
            if (!budget.Contains(waiting[i]))
            {
                top.Offer(waiting[i]);
            }
        }

        if (includeSwapped)
        {
            var swapped = view.Swapped;
            for (var i = 0; i < swapped.Count; i++)
            {
                if (!budget.Contains(swapped[i]))
                {
                    top.Offer(swapped[i]);
                }
            }
        }

        var admitted = 0;
        for (var i = 0; i < top.Count; i++)
        {
            var r = top[i];
            var n = budget.MaxTokensFor(r);
            if (n == 0 || !budget.TrySchedule(r, n))
            {
                break;
            }

            admitted++;
        }

        return admitted;
    }
}
