using Tempo.Engine;
using Tempo.Scheduling.Gain;
using Tempo.Scheduling.Gain.JitServe;
using Tempo.Scheduling.Ordering;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Baselines;

/// <summary>
/// The SLOs-Serve baseline as the artifact emulates it (§3.10, the "SLO-target" ablation): running requests
/// first (decodes, then prefill chunks, FCFS), swap-ins FIFO unless something was preempted, then new prefills in
/// the order admitted ++ rejected from the admission DP over the 64 earliest TTFT deadlines, followed by the
/// remaining waiting requests by deadline, with ordinary chunked-prefill admission (stop at the first misfit).
/// Preemption is by swap, as in the artifact's SLO scheduler.
/// </summary>
/// <param name="name">Registered name.</param>
/// <param name="predictor">Length predictor of the prefill admission.</param>
/// <param name="initialUnitTimeS">Step cost assumed before any step is measured.</param>
internal sealed class SlosServeScheduler(string name, ILengthPredictor predictor, double initialUnitTimeS) : IScheduler
{
    private const double DecodeWeight = 8;

    private readonly UnitTimeEstimator _unitTime = new(initialUnitTimeS, TempoOptions.Default.UnitTimeSmoothing);
    private readonly SlosServeAdmission _dp = new();
    private readonly Ranking _byDeadline = new(new TtftDeadlineOrder());

    private readonly AdmissionCandidate[] _candidates = new AdmissionCandidate[SlosServeAdmission.MaxCandidates];
    private readonly bool[] _admitted = new bool[SlosServeAdmission.MaxCandidates];
    private int _lastScheduled;

    /// <inheritdoc />
    public string Name { get; } = name;

    /// <inheritdoc />
    public StepPlan Plan(SchedulerView view)
    {
        var budget = view.NewBudget();
        var preempted = ScheduleRunning(view, budget);
        if (!preempted)
        {
            foreach (var r in view.Swapped)
            {
                var n = budget.MaxTokensFor(r);
                if (n == 0 || !budget.TrySchedule(r, n))
                {
                    break;
                }
            }
        }

        AdmitWaiting(view, budget);
        var plan = budget.Build();
        _lastScheduled = plan.Scheduled.Count;
        return plan;
    }

    /// <inheritdoc />
    public void OnArrival(EngineRequest request) => request.LengthBound = predictor.Predict(request.Spec).BoundAfter(request.Generated);

    /// <inheritdoc />
    public void OnStepExecuted(SchedulerView view, double durationS)
    {
        if (_lastScheduled > 0)
        {
            _unitTime.Observe(durationS);
        }
    }

    private static double TtftDeadline(EngineRequest r) => r.ArrivalS + r.Spec.Slo.TtftS;

    private static bool ScheduleRunning(SchedulerView view, StepBudget budget)
    {
        var running = view.Running;
        var preempted = false;
        foreach (var prefill in (ReadOnlySpan<bool>)[false, true])
        {
            for (var i = 0; i < running.Count; i++)
            {
                var r = running[i];
                if (r.IsPrefill != prefill || budget.Contains(r))
                {
                    continue;
                }

                var n = budget.MaxTokensFor(r);
                if (n == 0 || budget.SequencesLeft == 0)
                {
                    continue;
                }

                // vLLM: free KV from the newest runners (queue tail) until this one can grow.
                preempted |= RunnerEviction.MakeRoom(running, i, n, budget, PreemptionMode.Swap);
                budget.TrySchedule(r, n);
            }
        }

        return preempted;
    }

    private void AdmitWaiting(SchedulerView view, StepBudget budget)
    {
        if (view.Waiting.Count == 0 || budget.SequencesLeft == 0 || budget.TokensLeft == 0)
        {
            return;
        }

        _byDeadline.Top(view.Waiting, view.Waiting.Count, view.NowS);
        var count = Math.Min(_byDeadline.Count, SlosServeAdmission.MaxCandidates);
        for (var i = 0; i < count; i++)
        {
            var r = _byDeadline[i];
            _candidates[i] = new AdmissionCandidate(TtftDeadline(r), r.PendingTokens, r.Spec.Slo.TbtS, r.PromptTokens + (DecodeWeight * r.LengthBound));
        }

        // Q13 deviation: decodes of the requests already running also take budget every iteration.
        _dp.Solve(_candidates.AsSpan(0, count), view.NowS, _unitTime.CurrentS, view.Config.TokenBudget, view.Running.Count, _admitted.AsSpan(0, count));
        if (TryAdmit(budget, admittedPass: true, count) && TryAdmit(budget, admittedPass: false, count))
        {
            for (var i = count; i < _byDeadline.Count; i++)
            {
                if (!Admit(budget, _byDeadline[i]))
                {
                    break;
                }
            }
        }

        _byDeadline.Reset(0, view.NowS);
    }

    // One pass over the DP candidates (admitted ones, or rejected ones); false once admission stopped.
    private bool TryAdmit(StepBudget budget, bool admittedPass, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (_admitted[i] == admittedPass && !Admit(budget, _byDeadline[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Admit(StepBudget budget, EngineRequest r)
    {
        var n = budget.MaxTokensFor(r);
        return n > 0 && budget.TrySchedule(r, n);
    }

    /// <summary>Earliest first-token deadline first.</summary>
    private sealed class TtftDeadlineOrder : RequestOrder
    {
        public override OrderKey KeyOf(EngineRequest r, double nowS) => new(TtftDeadline(r), 0);
    }
}
