using Tempo.Engine;

namespace Tempo.Scheduling.Ordering;

/// <summary>
/// A policy's queue order, the one way every policy in this assembly says who is served first (vLLM's scheduler has
/// one such strategy too, its request queue): a key per request, smaller first, ties broken by submission order so
/// the order is total and every sort deterministic. Baselines differ from each other mostly in this key; the step
/// that visits the queues in it (<see cref="Baselines.ChunkedPrefillScheduler"/>) and the ranking of long queues
/// (<see cref="Ranking"/>) are shared.
/// </summary>
internal abstract class RequestOrder
{
    /// <summary>
    /// First come, first served as the engine keeps its queues: arrivals appended, recompute victims put back in
    /// front (vLLM's own FCFS). A policy in this order visits the queues as they are, with no ranking at all.
    /// </summary>
    public static RequestOrder EngineQueue { get; } = new EngineQueueOrder();

    /// <summary>By engine arrival, then submission: FCFS with recompute victims back in their arrival place.</summary>
    public static RequestOrder Arrival { get; } = new ArrivalOrder();

    /// <summary>vLLM's priority order: the request's integer priority (lower first), then arrival.</summary>
    public static RequestOrder Priority { get; } = new PriorityOrder();

    /// <summary>Shortest predicted job first: predicted remaining output (<c>LengthBound − Generated</c>), then arrival.</summary>
    public static RequestOrder ShortestRemaining { get; } = new ShortestRemainingOrder();

    /// <summary>True when the engine's queues are already in this order, so they need no ranking.</summary>
    public virtual bool IsEngineQueueOrder => false;

    /// <summary>The key of <paramref name="r"/> at time <paramref name="nowS"/> (the instant the step is planned).</summary>
    public abstract OrderKey KeyOf(EngineRequest r, double nowS);

    /// <summary>Negative when <paramref name="a"/> is served before <paramref name="b"/> at <paramref name="nowS"/>; a total order.</summary>
    public int Compare(EngineRequest a, EngineRequest b, double nowS) =>
        ReferenceEquals(a, b) ? 0 : KeyedRequest.Of(a, KeyOf(a, nowS)).CompareTo(KeyedRequest.Of(b, KeyOf(b, nowS)));

    private sealed class EngineQueueOrder : RequestOrder
    {
        public override bool IsEngineQueueOrder => true;

        public override OrderKey KeyOf(EngineRequest r, double nowS) => new(r.ArrivalS, 0);
    }

    private sealed class ArrivalOrder : RequestOrder
    {
        public override OrderKey KeyOf(EngineRequest r, double nowS) => new(r.ArrivalS, 0);
    }

    private sealed class PriorityOrder : RequestOrder
    {
        public override OrderKey KeyOf(EngineRequest r, double nowS) => new(r.Spec.Priority, r.ArrivalS);
    }

    private sealed class ShortestRemainingOrder : RequestOrder
    {
        public override OrderKey KeyOf(EngineRequest r, double nowS) => new(r.RemainingByBound, r.ArrivalS);
    }
}
