using Tempo.Workloads;

namespace Tempo.Scheduling.Collective;

/// <summary>Splits a collective job's deadline across its stages (§5.4, §5.5 [REC]).</summary>
internal static class StageDeadline
{
    /// <summary>
    /// A call's deadline relative to its own arrival: <c>jobDeadline · F(≤ stage) − served</c>, where
    /// <paramref name="servedS"/> is the time from the job's arrival to the call's. A late job would get a
    /// non-positive deadline, so it is floored at <paramref name="floorS"/> (for example one TTFT) and the density
    /// penalty makes the call best-effort instead.
    /// </summary>
    public static double ForCall(double jobDeadlineS, double cumulativeFraction, double servedS, double floorS) =>
        Math.Max(floorS, (jobDeadlineS * cumulativeFraction) - servedS);

    /// <summary>The oracle's inclusive cumulative fraction for <paramref name="stage"/> of a known job graph (stage maximum outputs).</summary>
    public static double PreciseFraction(RecordedJob job, int stage) =>
        GraphTemplate.FromRecorded(CollectiveApp.Unknown, job).CumulativeFraction(stage);
}
