using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling.Collective;
using Tempo.Scheduling.Ordering;

namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>
/// Computes and caches priority keys (§2.5, §3.3). Keys are computed lazily the first time they are needed in an
/// epoch and then frozen until the next re-plan starts a new epoch, unless a request's length bound changes or its
/// job gains or loses a call (§6.2 [REC]). All live calls of a collective job share one key: Σ of their gains over
/// the job's remaining time.
/// </summary>
internal sealed class PriorityBook
{
    private readonly TempoOptions _options;
    private readonly UnitTimeEstimator _unitTime;

    /// <summary>Creates the book.</summary>
    public PriorityBook(TempoOptions options, UnitTimeEstimator unitTime)
    {
        _options = options;
        _unitTime = unitTime;
        Order = new DensityOrder(this);
    }

    /// <summary>Current epoch; keys from older epochs are stale.</summary>
    public long Epoch { get; private set; }

    /// <summary>Time used for keys computed now (set at the start of each scheduler call).</summary>
    public double NowS { get; set; }

    /// <summary>The policy's order: by priority key (densest first, then least remaining time), ties by submission order.</summary>
    public RequestOrder Order { get; }

    /// <summary>Tempo's state of a request.</summary>
    public static TempoRequestState State(EngineRequest r) =>
        r.PolicyState as TempoRequestState ?? throw new InvalidOperationException($"{r} has no Tempo state; was OnArrival called?");

    /// <summary>Starts a new epoch: every cached key becomes stale.</summary>
    public void StartEpoch() => Epoch++;

    /// <summary>Makes a request's key (and its job's shared key) stale.</summary>
    public static void Invalidate(EngineRequest r)
    {
        var s = State(r);
        s.KeyEpoch = -1;
        if (s.Job is { } job)
        {
            InvalidateJob(job);
        }
    }

    /// <summary>Makes a job's shared key stale for every live call.</summary>
    public static void InvalidateJob(CollectionTracker job)
    {
        job.KeyEpoch = -1;
        foreach (var peer in job.Live)
        {
            State(peer).KeyEpoch = -1;
        }
    }

    /// <summary>The request's key in the current epoch.</summary>
    public PriorityKey KeyOf(EngineRequest r)
    {
        var s = State(r);
        if (s.KeyEpoch == Epoch)
        {
            return s.Key;
        }

        if (s.Job is { } job)
        {
            ComputeJob(job);
            if (s.KeyEpoch == Epoch)
            {
                return s.Key;
            }
        }

        // A call not (or no longer) in its job's live list is keyed on its own.
        s.Key = ComputeSingle(r, s);
        s.KeyEpoch = Epoch;
        return s.Key;
    }

    /// <summary>Negative when <paramref name="a"/> is served before <paramref name="b"/> now; a total order.</summary>
    public int Compare(EngineRequest a, EngineRequest b) => Order.Compare(a, b, NowS);

    /// <summary>The request's relative deadline D as the density uses it.</summary>
    public static double DeadlineOf(EngineRequest r, TempoRequestState s) => r.Spec.Class switch
    {
        RequestClass.Latency => GainDensity.LatencyDeadline(r.Spec.Slo, r.LengthBound),
        RequestClass.Collective when !double.IsNaN(s.DeadlineS) => s.DeadlineS,
        _ => r.Spec.Slo.DeadlineS,
    };

    private PriorityKey ComputeSingle(EngineRequest r, TempoRequestState s)
    {
        var u = _unitTime.CurrentS;
        var remaining = r.RemainingByBound; // Q6: never below 1
        var trem = GainDensity.RemainingTime(u, remaining);
        var gain = GainDensity.EstimatedGain(Inputs(r, s, remaining, trem, u), _options.PenaltyExponent, _options.DecodeWeight);
        return GainDensity.Key(gain, trem);
    }

    private void ComputeJob(CollectionTracker job)
    {
        if (job.Live.Count == 0)
        {
            return;
        }

        var u = _unitTime.CurrentS;
        long sum = 0;
        long longest = 0;
        foreach (var peer in job.Live)
        {
            var remaining = peer.RemainingByBound;
            sum += remaining;
            longest = Math.Max(longest, remaining);
        }

        // Q17: the artifact's serial sum over live calls by default; peers of a stage actually run in parallel.
        var trem = GainDensity.RemainingTime(u, _options.CollectiveRemaining == CollectiveRemainingWork.SumOfLiveCalls ? sum : longest);
        var gain = 0.0;
        foreach (var peer in job.Live)
        {
            gain += GainDensity.EstimatedGain(Inputs(peer, State(peer), peer.RemainingByBound, trem, u), _options.PenaltyExponent, _options.DecodeWeight);
        }

        var key = GainDensity.Key(gain, trem);
        job.KeyDensity = key.Density;
        job.KeyRemainingS = key.RemainingS;
        job.KeyEpoch = Epoch;
        foreach (var peer in job.Live)
        {
            var ps = State(peer);
            ps.Key = key;
            ps.KeyEpoch = Epoch;
        }
    }

    private GainInputs Inputs(EngineRequest r, TempoRequestState s, int remaining, double trem, double u) => new(
        r.Spec.Class,
        r.Generated > 0,
        r.PromptTokens,
        r.LengthBound,
        remaining,
        NowS - r.ArrivalS,
        DeadlineOf(r, s),
        r.Spec.Slo.TtftS,
        trem,
        u);

    /// <summary>
    /// Priority keys as an order key: the density negated (densest first), then the remaining time. Keys come from the
    /// book's epoch cache at the book's time, which the scheduler sets to the step's.
    /// </summary>
    private sealed class DensityOrder(PriorityBook book) : RequestOrder
    {
        public override OrderKey KeyOf(EngineRequest r, double nowS)
        {
            var key = book.KeyOf(r);
            return new(-key.Density, key.RemainingS);
        }
    }
}
