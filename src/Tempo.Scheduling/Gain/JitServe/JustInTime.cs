using Tempo.Core;
using Tempo.Engine;

namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>
/// Just-in-time bandwidth (§3.6 [REC], Q21; off by default): which running requests may skip an iteration without
/// missing their SLO, and how many new requests the running set leaves room for when some of it is paced.
/// </summary>
internal static class JustInTime
{
    /// <summary>
    /// §3.6 [REC]: a decode may skip this step only if it stays on its SLO pace after skipping: a streaming latency
    /// request whose next token is due (by schedule and by gap) at least 2u from now, or a throughput/collective call that can still finish
    /// by its deadline after one lost iteration (never deferred so far that its penalty factor drops below 1).
    /// </summary>
    public static bool Deferrable(EngineRequest r, double nowS, double u)
    {
        if (r.IsPrefill)
        {
            return false;
        }

        var slo = r.Spec.Slo;
        if (r.Spec.Class == RequestClass.Latency)
        {
            // Token i (0-based) is due at arrival + T_f + i·T_b (the gain's cumulative schedule), and no later than
            // T_b after the previous token (the strict per-gap SLO of request goodput): pacing a stream that ran
            // ahead down to its cumulative schedule alone would open one long gap and fail the strict SLO.
            var nextDue = Math.Min(r.ArrivalS + slo.TtftS + (r.Generated * slo.TbtS), r.TokenTimesS[^1] + slo.TbtS);
            return nextDue - nowS >= 2 * u;
        }

        var deadline = r.ArrivalS + PriorityBook.DeadlineOf(r, PriorityBook.State(r));
        return nowS + (2 * u) + (u * r.RemainingByBound) <= deadline;
    }

    /// <summary>
    /// With just-in-time bandwidth the running set may exceed the batch, because paced requests need a slot only now
    /// and then; new requests are admitted only while the slots the running set needs per iteration on average
    /// (prefills 1, streams u/T_b, deadline requests u·R/time-to-deadline, late ones 1) leave whole slots free.
    /// Without this, deferral turns into over-admission and every stream falls behind.
    /// </summary>
    public static int AdmissionRoom(SchedulerView view, double now, double u)
    {
        var demand = 0.0;
        var running = view.Running;
        for (var i = 0; i < running.Count; i++)
        {
            demand += SlotRate(running[i], now, u);
        }

        return (int)Math.Floor(view.Config.MaxBatch - demand);
    }

    private static double SlotRate(EngineRequest r, double nowS, double u)
    {
        if (r.IsPrefill)
        {
            return 1;
        }

        if (r.Spec.Class == RequestClass.Latency)
        {
            return r.Spec.Slo.TbtS > u ? u / r.Spec.Slo.TbtS : 1;
        }

        var timeToDeadline = r.ArrivalS + PriorityBook.DeadlineOf(r, PriorityBook.State(r)) - nowS;
        return timeToDeadline > 0 ? Math.Min(1, u * r.RemainingByBound / timeToDeadline) : 1;
    }

}
