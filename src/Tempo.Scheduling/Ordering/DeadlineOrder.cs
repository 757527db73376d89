using Tempo.Core;
using Tempo.Engine;

namespace Tempo.Scheduling.Ordering;

/// <summary>
/// Earliest deadline first (the artifact's <c>srtf</c>): requests are served by the time left to their deadline;
/// overdue requests go after all others, least overdue first.
/// </summary>
/// <remarks>
/// The deadline is length-free, so the order needs no length predictor:
/// <list type="bullet">
/// <item>latency: the deadline of the <em>next</em> token on the metric's cumulative schedule,
/// <c>arrival + T_f + Generated·T_b</c>; it moves forward as tokens are produced, so a stream is urgent exactly
/// when its next token is;</item>
/// <item>throughput: <c>arrival + deadline</c>;</item>
/// <item>collective: the job's arrival (<see cref="RequestSpec.ArrivalS"/>) plus the job deadline.</item>
/// </list>
/// Deviation: the artifact enables graph matching for srtf and splits a job's deadline across its stages; we use
/// the whole-job deadline for every call, which makes early stages look less urgent than they are.
/// Overdue requests are ordered least late first, because a latency stream on the cumulative schedule can still
/// catch up and the least late are the most likely to be salvaged.
/// </remarks>
internal sealed class DeadlineOrder : RequestOrder
{
    /// <summary>The one instance (the order keeps no state).</summary>
    public static DeadlineOrder Instance { get; } = new();

    private DeadlineOrder()
    {
    }

    /// <summary>Absolute deadline of the request's next unit of service, in seconds.</summary>
    public static double DeadlineS(EngineRequest r) => r.Spec.Class switch
    {
        RequestClass.Latency => r.ArrivalS + r.Spec.Slo.TtftS + (r.Generated * r.Spec.Slo.TbtS),
        RequestClass.Throughput => r.ArrivalS + r.Spec.Slo.DeadlineS,
        _ => r.Spec.ArrivalS + r.Spec.Slo.DeadlineS,
    };

    /// <summary>(0, slack) while on time, (1, lateness) when overdue: on-time first, then least late.</summary>
    public override OrderKey KeyOf(EngineRequest r, double nowS)
    {
        var slack = DeadlineS(r) - nowS;
        return slack >= 0 ? new(0, slack) : new(1, -slack);
    }
}
