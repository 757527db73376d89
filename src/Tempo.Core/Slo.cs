namespace Tempo.Core;

/// <summary>
/// A request's service-level objective, in seconds relative to arrival. Latency requests use
/// <see cref="TtftS"/> and <see cref="TbtS"/>; throughput requests use <see cref="DeadlineS"/>; collective
/// calls carry the deadline of their whole job (relative to the job's arrival).
/// </summary>
/// <param name="TtftS">Time-to-first-token bound.</param>
/// <param name="TbtS">Time-between-tokens bound (the pace of the cumulative token schedule).</param>
/// <param name="DeadlineS">End-to-end deadline (throughput) or job deadline (collective).</param>
public sealed record Slo(double TtftS, double TbtS, double DeadlineS)
{
    /// <summary>Returns the same SLO with every bound multiplied by <paramref name="factor"/>.</summary>
    public Slo Scale(double factor) => new(TtftS * factor, TbtS * factor, DeadlineS * factor);

    /// <summary>Throws if any bound is negative, NaN or infinite.</summary>
    public void Validate()
    {
        foreach (var (name, value) in new[] { ("ttft", TtftS), ("tbt", TbtS), ("deadline", DeadlineS) })
        {
            if (!double.IsFinite(value) || value < 0)
            {
                throw new ArgumentException($"SLO {name} must be a finite non-negative number of seconds, got {value}.");
            }
        }
    }
}
