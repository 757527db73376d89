using Tempo.Engine;

namespace Tempo.Scheduling.Baselines;

/// <summary>Queue orders for the baselines. Every order breaks ties by submission sequence, so sorting is deterministic.</summary>
internal static class RequestOrder
{
    /// <summary>First come, first served (by engine arrival, then submission).</summary>
    public static IComparer<EngineRequest> Fcfs { get; } = By(r => r.ArrivalS);

    /// <summary>vLLM's priority order: the request's integer priority (lower first), then arrival.</summary>
    public static IComparer<EngineRequest> Priority { get; } = By(r => (r.Spec.Priority, r.ArrivalS));

    /// <summary>Orders by a key ascending, then by submission sequence.</summary>
    public static IComparer<EngineRequest> By<TKey>(Func<EngineRequest, TKey> key)
        where TKey : IComparable<TKey> =>
        Comparer<EngineRequest>.Create((a, b) => Compare(key(a), key(b), a, b));

    /// <summary>Compares two keys, breaking ties by submission sequence.</summary>
    public static int Compare<TKey>(TKey ka, TKey kb, EngineRequest a, EngineRequest b)
        where TKey : IComparable<TKey>
    {
        var c = ka.CompareTo(kb);
        return c != 0 ? c : a.Sequence.CompareTo(b.Sequence);
    }
}
