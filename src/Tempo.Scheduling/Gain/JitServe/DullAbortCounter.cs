namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>
/// The artifact's safety valve (§3.9): while nothing runs but a few requests (fewer than
/// <paramref name="pendingLimit"/>) wait or sit swapped, count scheduler calls; after
/// <paramref name="maxIdleSteps"/> of them, everything pending is aborted. Q18: the count restarts whenever the
/// condition lapses, so only consecutive idle calls add up (the artifact never reset it). A call counts as idle only
/// when the step before it scheduled nothing: with one-token requests the running set is empty at every call even
/// though each step finishes work, and counting those calls dropped live requests.
/// </summary>
internal sealed class DullAbortCounter(int pendingLimit, int maxIdleSteps)
{
    /// <summary>Consecutive idle calls so far.</summary>
    public int IdleSteps { get; private set; }

    /// <summary>Observes one scheduler call; returns true when every pending request should be aborted now.</summary>
    /// <param name="running">Requests holding GPU KV at this call.</param>
    /// <param name="pending">Requests waiting or swapped at this call.</param>
    /// <param name="lastScheduled">Sequences the previous call scheduled.</param>
    public bool Observe(int running, int pending, int lastScheduled)
    {
        if (running != 0 || lastScheduled != 0 || pending <= 0 || pending >= pendingLimit)
        {
            IdleSteps = 0;
            return false;
        }

        if (++IdleSteps < maxIdleSteps)
        {
            return false;
        }

        IdleSteps = 0;
        return true;
    }
}
