namespace Tempo.Simulation.Profiles.Calibration;

/// <summary>
/// A robust summary of repeated timings of one step shape on a possibly noisy machine: timings further than
/// <see cref="RejectMads"/> scaled median absolute deviations from the median are rejected (another process took
/// the core), and the median of the rest is the estimate.
/// </summary>
/// <param name="MedianMs">Median of the kept timings, ms.</param>
/// <param name="Kept">Timings kept.</param>
/// <param name="Rejected">Timings rejected as outliers.</param>
/// <param name="SpreadPct">Relative spread of the kept timings: (p90 − p10) / median, in percent.</param>
public sealed record TimingSummary(double MedianMs, int Kept, int Rejected, double SpreadPct)
{
    /// <summary>Rejection threshold in units of 1.4826·MAD (the normal-consistent scale).</summary>
    public const double RejectMads = 3.5;

    /// <summary>Summarises <paramref name="timingsMs"/> (at least one, all finite and non-negative).</summary>
    public static TimingSummary Of(IReadOnlyList<double> timingsMs)
    {
        ArgumentNullException.ThrowIfNull(timingsMs);
        if (timingsMs.Count == 0)
        {
            throw new ArgumentException("no timings to summarise");
        }

        if (timingsMs.Any(t => !double.IsFinite(t) || t < 0))
        {
            throw new ArgumentException("timings must be finite and non-negative");
        }

        var median = Core.Percentile.OfSorted([.. timingsMs.Order()], 0.5);
        var mad = 1.4826 * Core.Percentile.OfSorted([.. timingsMs.Select(t => Math.Abs(t - median)).Order()], 0.5);

        // A MAD of zero (identical timings, or a coarse clock) would reject everything that differs at all; a floor
        // of 1% of the median keeps such runs whole.
        var limit = RejectMads * Math.Max(mad, 0.01 * median);
        var kept = timingsMs.Where(t => Math.Abs(t - median) <= limit).Order().ToArray();
        var keptMedian = Core.Percentile.OfSorted(kept, 0.5);
        var spread = keptMedian > 0 ? 100 * (Core.Percentile.OfSorted(kept, 0.9) - Core.Percentile.OfSorted(kept, 0.1)) / keptMedian : 0;
        return new TimingSummary(keptMedian, kept.Length, timingsMs.Count - kept.Length, spread);
    }
}
