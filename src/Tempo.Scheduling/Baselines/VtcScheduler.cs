using Tempo.Engine;
using Tempo.Scheduling.Ordering;

namespace Tempo.Scheduling.Baselines;

/// <summary>
/// Virtual Token Counter fair sharing across clients (<see cref="Core.RequestSpec.ClientId"/>; Sheng et al., OSDI
/// 2024). Each client has a counter of the service it received, weighted as in the paper's default: every prompt
/// token admitted costs <see cref="PromptWeight"/> and every output token produced costs <see cref="OutputWeight"/>.
/// Admission repeatedly takes the earliest waiting request of the client with the smallest counter and charges
/// its prompt at once, so one step's admissions already alternate between clients.
/// </summary>
/// <remarks>
/// <para>
/// Counter lift (VTC's rule against banking credit): when a client with no request waiting for its first
/// admission sends one, its counter is raised to the smallest counter among clients that do have such requests,
/// or, when there are none, to the counter of the client that last left that queue.
/// </para>
/// <para>
/// Stepping: the artifact ran vtc with chunked prefill off, so this follows vLLM V0 without chunking (prefill-first,
/// whole prompts, decodes in their own steps, recompute preemption of the latest arrival). A request re-admitted
/// after a recompute preemption is not charged its prompt again: the counter measures service the client
/// received, not work the engine wasted.
/// </para>
/// </remarks>
internal sealed class VtcScheduler() : PrefillFirstScheduler("vtc", RequestOrder.Arrival)
{
    /// <summary>Counter cost of one prompt token.</summary>
    public const long PromptWeight = 1;

    /// <summary>Counter cost of one output token.</summary>
    public const long OutputWeight = 2;

    private readonly Dictionary<int, long> _counters = [];

    // Requests per client that wait for their first admission: VTC's queue Q.
    private readonly Dictionary<int, int> _backlog = [];
    private int? _lastLeft;

    /// <summary>The current counter of a client (0 for one never seen).</summary>
    public long Counter(int clientId) => _counters.GetValueOrDefault(clientId);

    /// <inheritdoc />
    public override void OnArrival(EngineRequest request)
    {
        var client = request.Spec.ClientId;
        if (_backlog.GetValueOrDefault(client) == 0)
        {
            var floor = _backlog.Where(kv => kv.Value > 0).Select(kv => (long?)Counter(kv.Key)).Min();
            floor ??= _lastLeft is { } last ? Counter(last) : null;
            if (floor is { } f && f > Counter(client))
            {
                _counters[client] = f;
            }
        }

        _backlog[client] = _backlog.GetValueOrDefault(client) + 1;
        request.PolicyState = new Share();
    }

    /// <inheritdoc />
    public override void OnStepExecuted(SchedulerView view, double durationS)
    {
        foreach (var r in view.Running)
        {
            ChargeOutput(r);
        }
    }

    /// <inheritdoc />
    public override void OnFinished(EngineRequest request)
    {
        // Requests rejected at submission end before OnArrival and carry no state.
        if (request.PolicyState is not Share share)
        {
            return;
        }

        ChargeOutput(request);
        if (!share.Admitted)
        {
            LeaveBacklog(request.Spec.ClientId);
        }
    }

    /// <inheritdoc />
    protected override void AdmitWholePrompts(SchedulerView view, StepBudget prefill)
    {
        // Per client, its waiting requests in FCFS order; the head of the least-served client goes next.
        var queues = Sorted(view.Waiting)
            .Where(r => !prefill.Contains(r))
            .GroupBy(r => r.Spec.ClientId)
            .Select(g => new Queue<EngineRequest>(g))
            .ToList();
        while (queues.Count > 0)
        {
            var next = queues
                .OrderBy(q => Counter(q.Peek().Spec.ClientId))
                .ThenBy(q => q.Peek(), Comparer<EngineRequest>.Create(Compare))
                .First();
            var r = next.Peek();
            var n = prefill.MaxTokensFor(r, allowChunking: false);
            if (n == 0 || !prefill.TrySchedule(r, n))
            {
                break;
            }

            next.Dequeue();
            if (next.Count == 0)
            {
                queues.Remove(next);
            }

            if (r.PolicyState is Share { Admitted: false } share)
            {
                share.Admitted = true;
                Charge(r.Spec.ClientId, PromptWeight * r.PromptTokens);
                LeaveBacklog(r.Spec.ClientId);
            }
        }
    }

    private void ChargeOutput(EngineRequest r)
    {
        if (r.PolicyState is Share share)
        {
            Charge(r.Spec.ClientId, OutputWeight * (r.Generated - share.Charged));
            share.Charged = r.Generated;
        }
    }

    private void Charge(int client, long cost) => _counters[client] = Counter(client) + cost;

    private void LeaveBacklog(int client)
    {
        var left = _backlog.GetValueOrDefault(client) - 1;
        _backlog[client] = left;
        if (left == 0)
        {
            _lastLeft = client;
        }
    }

    private sealed class Share
    {
        public bool Admitted { get; set; }

        public int Charged { get; set; }
    }
}
