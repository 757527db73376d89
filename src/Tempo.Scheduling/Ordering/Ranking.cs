using System.Collections;

using Tempo.Engine;

namespace Tempo.Scheduling.Ordering;

/// <summary>
/// The best requests offered, in one <see cref="RequestOrder"/>, in a buffer reused across steps so that planning
/// allocates nothing. Each offered request's key is read once; when only the head of a long queue is wanted, it is
/// selected in linear time (<see cref="Quickselect"/>) and only the head is sorted. Admission stops at the first
/// request that does not fit and never takes more than the sequences left, so it only ever needs that head.
/// The ranked requests are valid until the next <see cref="Reset"/>.
/// </summary>
/// <param name="order">The order requests are ranked in.</param>
internal sealed class Ranking(RequestOrder order) : IReadOnlyList<EngineRequest>
{
    private KeyedRequest[] _keys = new KeyedRequest[64];
    private int _offered;
    private int _capacity;
    private double _nowS;
    private bool _ranked = true;

    /// <summary>The order requests are ranked in.</summary>
    public RequestOrder Order { get; } = order;

    /// <summary>Requests held once ranked: the offered ones, at most the capacity.</summary>
    public int Count
    {
        get
        {
            Rank();
            return _offered;
        }
    }

    /// <summary>The <paramref name="index"/>-th best request offered.</summary>
    public EngineRequest this[int index]
    {
        get
        {
            Rank();
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _offered);
            return _keys[index].Request;
        }
    }

    /// <summary>The ranked requests with the keys they were ranked by, best first; valid until the next <see cref="Reset"/>.</summary>
    public ReadOnlySpan<KeyedRequest> Keys
    {
        get
        {
            Rank();
            return _keys.AsSpan(0, _offered);
        }
    }

    /// <summary>Empties the ranking and sets how many of the best requests to keep and the time keys are read at.</summary>
    public void Reset(int capacity, double nowS)
    {
        // Drop the request references so that finished requests are not kept alive by the buffer.
        Array.Clear(_keys, 0, _offered);
        _offered = 0;
        _capacity = Math.Max(0, capacity);
        _nowS = nowS;
        _ranked = false;
    }

    /// <summary>Offers a request; it is kept if it ranks among the best <c>capacity</c> offered.</summary>
    public void Offer(EngineRequest r)
    {
        if (_capacity == 0)
        {
            return;
        }

        if (_offered == _keys.Length)
        {
            Array.Resize(ref _keys, _keys.Length * 2);
        }

        _keys[_offered++] = KeyedRequest.Of(r, Order.KeyOf(r, _nowS));
        _ranked = false;
    }

    /// <summary>The best <paramref name="count"/> requests of <paramref name="queue"/> at <paramref name="nowS"/>, best first: this ranking.</summary>
    public Ranking Top(IReadOnlyList<EngineRequest> queue, int count, double nowS)
    {
        Reset(count, nowS);
        for (var i = 0; i < queue.Count; i++)
        {
            Offer(queue[i]);
        }

        return this;
    }

    /// <summary>Sorts <paramref name="list"/> in place into the order at <paramref name="nowS"/>.</summary>
    public void Sort(List<EngineRequest> list, double nowS)
    {
        Top(list, list.Count, nowS);
        for (var i = 0; i < list.Count; i++)
        {
            list[i] = this[i];
        }

        Reset(0, nowS);
    }

    /// <inheritdoc />
    public IEnumerator<EngineRequest> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void Rank()
    {
        if (_ranked)
        {
            return;
        }

        var keys = _keys.AsSpan(0, _offered);
        if (_offered > _capacity)
        {
            Quickselect.SmallestFirst(keys, _capacity);
            keys[_capacity..].Clear();
            _offered = _capacity;
            keys = keys[.._capacity];
        }

        // Keys are unique (submission order breaks ties), so any sort gives this exact order.
        keys.Sort();
        _ranked = true;
    }
}
