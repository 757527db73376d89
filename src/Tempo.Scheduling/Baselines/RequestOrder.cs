using Tempo.Engine;

namespace Tempo.Scheduling.Baselines;

/// <summary>Queue orders for the baselines. Every order breaks ties by submission sequence, so sorting is deterministic.</summary>
internal static class RequestOrder
{
    /// <summary>First come, first served (by engine arrival, then submission).</summary>
    public static IComparer<EngineRequest> Fcfs { get; } = By(r => r.ArrivalS);

    /// <summary>Orders by a key ascending, then by submission sequence.</summary>
    public static IComparer<EngineRequest> By(Func<EngineRequest, double> key) =>
        Comparer<EngineRequest>.Create((a, b) =>
        {
            var c = key(a).CompareTo(key(b));
            return c != 0 ? c : a.Sequence.CompareTo(b.Sequence);
        });
}
