namespace Tempo.Fleet;

/// <summary>
/// What a router knows about one replica when it places a request: the replica's queues and cache, as a simulated
/// engine reports them directly and a real server through its metrics, and the speed it has been measured at.
/// </summary>
/// <param name="Running">Requests in the replica's running batch.</param>
/// <param name="Waiting">Requests waiting for their first scheduling.</param>
/// <param name="Swapped">Requests preempted to CPU memory.</param>
/// <param name="MaxBatch">Most sequences the replica runs per step.</param>
/// <param name="TokenBudget">Most tokens the replica processes per step (its prefill chunk).</param>
/// <param name="KvUsage">Fraction of the replica's KV cache in use, 0 to 1.</param>
/// <param name="PrefillBacklogTokens">Prompt tokens accepted but not yet prefilled (waiting requests and prefills under way).</param>
/// <param name="StepS">Recent duration of one engine step, in seconds.</param>
/// <param name="ServiceS">Recent time a request held a batch slot, first scheduling to end, in seconds.</param>
public readonly record struct ReplicaLoad(
    int Running,
    int Waiting,
    int Swapped,
    int MaxBatch,
    int TokenBudget,
    double KvUsage,
    long PrefillBacklogTokens,
    double StepS,
    double ServiceS)
{
    /// <summary>Requests inside the replica.</summary>
    public int Live => Running + Waiting + Swapped;

    /// <summary>
    /// Predicted wait of a new request for a batch slot here: requests beyond the batch leave one slot per
    /// <see cref="ServiceS"/> / batch.
    /// </summary>
    public double SlotWaitS
    {
        get
        {
            var ahead = Live - MaxBatch + 1;
            return ahead > 0 ? ahead * ServiceS / MaxBatch : 0;
        }
    }

    /// <summary>
    /// Predicted time until a new request with <paramref name="promptTokens"/> gets its first token here: the wait for a
    /// batch slot (<see cref="SlotWaitS"/>) and <see cref="FirstTokenOnceStartedS"/>.
    /// </summary>
    public double PredictedTtftS(int promptTokens) => SlotWaitS + FirstTokenOnceStartedS(promptTokens);

    /// <summary>
    /// Predicted time from a batch slot to the first token: the prefill chunks of the backlog ahead of it and of its own
    /// prompt, and one decode step.
    /// </summary>
    public double FirstTokenOnceStartedS(int promptTokens)
    {
        var chunks = Math.Ceiling((PrefillBacklogTokens + promptTokens) / (double)Math.Max(1, TokenBudget));
        return (chunks + 1) * StepS;
    }
}
