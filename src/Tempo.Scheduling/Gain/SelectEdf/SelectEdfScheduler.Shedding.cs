using Tempo.Core;
using Tempo.Engine;

namespace Tempo.Scheduling.Gain.SelectEdf;

// Shedding and displacement: ending requests whose SLO cannot be met (--shed-unattainable) and, with +preempt, giving
// an urgent request a runner's slot in the same step.
internal sealed partial class SelectEdfScheduler
{
    // Ends every request that has produced no token and can no longer meet its SLO, so its client can go elsewhere.
    // Shed requests sort last (tier 3), so the queue walks that stop at the first request that does not fit stop
    // only behind them.
    private void Shed(StepBudget budget, double now, EngineConfig engine)
    {
        for (var i = 0; i < _live.Count; i++)
        {
            var r = _live[i];
            var s = PricedRequest.Of(r);
            if (r.Generated == 0 && Unattainable(r, s, now, engine))
            {
                _lastShedS = now;
                s.Tier = 3;

                // Its order key moved without a pricing: mark it moved, so that a waiting head read from the kept
                // one offers it under its new key instead of trusting its old place.
                s.Stamp++;
                ListRepriced(r, s);

                budget.Drop(r, SloShedding.Detail(r.Spec.Class == RequestClass.Latency
                    ? $"the first token cannot arrive within the {r.Spec.Slo.TtftS * 1000:0.#} ms TTFT"
                    : $"the answer cannot be finished within the {r.Spec.Slo.DeadlineS:0.###} s deadline"));
            }
        }
    }

    // A stream is unattainable once its first token cannot come in time. A call only once even its prefill and a
    // single token, started now, cannot finish by the hard deadline. Judged on a typical or even a low-quantile
    // length, shedding threw away calls that leftover capacity would still have finished in time (measured on
    // prefill-heavy at 12/s: throughput attainment 0.49 without shedding, 0.32 shedding on the 0.2 quantile), and a
    // collective call shed takes its whole job with it, so a call is judged against the job's own deadline.
    private bool Unattainable(EngineRequest r, PricedRequest s, double now, EngineConfig engine)
    {
        if (r.Spec.Class == RequestClass.Latency)
        {
            return s.SloLost;
        }

        var prefillSteps = _options.PrefillAware ? Math.Ceiling(r.PendingTokens / (double)engine.TokenBudget) : 0;
        var deadline = (r.Spec.Class == RequestClass.Collective ? r.Spec.ArrivalS : r.ArrivalS) + r.Spec.Slo.DeadlineS;
        return now + _time.TimeFor(prefillSteps, 1, 0) > deadline;
    }

    // An urgent waiting request may take the slot of a runner outside the selected set at once.
    private bool DisplaceForUrgent(SchedulerView view, StepBudget budget)
    {
        if (view.Running.Count < view.Config.MaxBatch || view.Waiting.Count == 0)
        {
            return false;
        }

        var urgent = 0;
        var limit = _options.MaxPreemptionsPerStep;
        foreach (var w in view.Waiting)
        {
            if (urgent == limit)
            {
                break; // enough to use every displacement this step allows
            }

            if (PricedRequest.Of(w).Tier == 0 || PricedRequest.Of(w).ShedForSlot)
            {
                urgent++;
            }
        }

        limit = urgent;
        var displaced = 0;
        var running = Sorted(view.Running);
        for (var i = running.Count - 1; i >= 0 && displaced < limit; i--)
        {
            var victim = running[i];
            if (PricedRequest.Of(victim).Tier == 0)
            {
                break; // sorted: everything above is selected too
            }

            budget.Preempt(victim, PreemptionMode.Recompute);
            displaced++;
        }

        return displaced > 0;
    }
}
