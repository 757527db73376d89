using Tempo.Engine;
using Tempo.Scheduling.Ordering;

namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>
/// The plain step that runs between re-plans (§3.4): running decodes, then running prefill chunks, in priority
/// order; then swapped and waiting requests admitted by density. When the KV cache cannot grow a runner, the
/// lowest-priority runner ranked below it is swapped out (Q12: by density, not queue tail), else the runner
/// itself. With just-in-time bandwidth on (§3.6 [REC]), decodes that are safely ahead of their SLO pace yield
/// their slot to admissions when slots are short, and run afterwards if any slot is left; admissions are then
/// limited by the average slot demand of the running set.
/// </summary>
internal sealed class NormalStep(TempoOptions options, PriorityBook book, UnitTimeEstimator unitTime)
{
    private readonly List<EngineRequest> _order = [];
    private readonly List<EngineRequest> _deferred = [];
    private readonly Ranking _ranking = new(book.Order);
    private readonly Ranking _top = new(book.Order);

    /// <summary>Plans one normal step with at most <paramref name="maxSequences"/> sequences.</summary>
    public StepPlan Plan(SchedulerView view, int maxSequences)
    {
        var budget = view.NewBudget(maxSequences);
        _order.Clear();
        _order.AddRange(view.Running);
        _ranking.Sort(_order, book.NowS);
        _deferred.Clear();
        var justInTime = options.JustInTime && view.Running.Count + view.Waiting.Count + view.Swapped.Count > budget.SequencesLeft;
        var preempted = ScheduleRunning(budget, prefill: false, justInTime);
        preempted |= ScheduleRunning(budget, prefill: true, justInTime: false);

        // §3.4 (b): nothing is swapped back in during a step that had to swap something out.
        var room = justInTime ? JustInTime.AdmissionRoom(view, book.NowS, unitTime.CurrentS) : int.MaxValue;
        PriorityAdmission.Admit(view, budget, _top, book.NowS, includeSwapped: !preempted, room);
        foreach (var r in _deferred)
        {
            if (budget.SequencesLeft == 0)
            {
                break;
            }

            if (!budget.Contains(r) && budget.MaxTokensFor(r) is > 0 and var n)
            {
                budget.TrySchedule(r, n);
            }
        }

        _order.Clear();
        _deferred.Clear();
        return budget.Build();
    }

    private bool ScheduleRunning(StepBudget budget, bool prefill, bool justInTime)
    {
        var preempted = false;
        for (var i = 0; i < _order.Count; i++)
        {
            var r = _order[i];
            if (r.IsPrefill != prefill || budget.Contains(r))
            {
                continue;
            }

            if (justInTime && JustInTime.Deferrable(r, book.NowS, unitTime.CurrentS))
            {
                _deferred.Add(r);
                continue;
            }

            var n = budget.MaxTokensFor(r);
            if (n == 0 || budget.SequencesLeft == 0)
            {
                continue;
            }

            preempted |= RunnerEviction.MakeRoom(_order, i, n, budget, PreemptionMode.Swap);
            budget.TrySchedule(r, n);
        }

        return preempted;
    }
}
