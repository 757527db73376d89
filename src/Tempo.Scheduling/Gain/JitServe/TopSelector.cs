using Tempo.Engine;

namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>
/// Keeps the best <c>capacity</c> requests offered, by priority, in a reusable sorted buffer: a partial sort
/// that lets a step look at the head of a long queue in one pass without sorting or allocating.
/// </summary>
internal sealed class TopSelector(PriorityBook book)
{
    private EngineRequest[] _items = new EngineRequest[64];
    private int _capacity;

    /// <summary>Requests held, best first.</summary>
    public int Count { get; private set; }

    /// <summary>The i-th best request offered.</summary>
    public EngineRequest this[int i] => _items[i];

    /// <summary>Empties the buffer and sets how many requests to keep.</summary>
    public void Reset(int capacity)
    {
        Array.Clear(_items, 0, Count);
        Count = 0;
        _capacity = Math.Max(0, capacity);
        if (_items.Length < _capacity + 1)
        {
            _items = new EngineRequest[Math.Max(_capacity + 1, _items.Length * 2)];
        }
    }

    /// <summary>Offers a request; it is kept if it ranks among the best <c>capacity</c> so far.</summary>
    public void Offer(EngineRequest r)
    {
        if (_capacity == 0)
        {
            return;
        }

        if (Count == _capacity && book.Compare(r, _items[Count - 1]) >= 0)
        {
            return;
        }

        var i = Math.Min(Count, _capacity - 1);
        while (i > 0 && book.Compare(r, _items[i - 1]) < 0)
        {
            _items[i] = _items[i - 1];
            i--;
        }

        _items[i] = r;
        if (Count < _capacity)
        {
            Count++;
        }
    }
}
