using Tempo.Core;
using Tempo.Engine;

namespace Tempo.Scheduling.Gain.SelectEdf;

// Pricing: what each live request is worth, how long its remaining work takes, and whether it can still meet its SLO
// (docs/TEMPO.md, "price work in time").
internal sealed partial class SelectEdfScheduler
{
    // A first-stage call of a job with more stages than the jobs seen so far, not started yet.
    private bool IsLongJobNotStarted(EngineRequest r) =>
        r.Spec.Class == RequestClass.Collective && r.Spec.Stage == 0 && r.Generated == 0 && r.State == RequestState.Waiting
        && r.Spec.StageCount > _jobStages.Mean;

    private double Bonus() => _options.CountBonus ? _values.Mean : 0;

    // Remaining work in time, deadline, value and tier (0 feasible, 2 SLO-dead) of one request.
    private void Price(EngineRequest r, double now, double bonus, EngineConfig engine)
    {
        var s = PricedRequest.Of(r);
        var spec = r.Spec;
        var slo = spec.Slo;
        if (s.QuantilesAt != r.Generated)
        {
            // The posterior only moves with a token: a queued request reads its quantiles once, not every step.
            s.QuantilesAt = r.Generated;
            s.RankTotal = s.Posterior.QuantileAfter(r.Generated, _options.RankQuantile);
            s.FeasibilityTotal = s.Posterior.QuantileAfter(r.Generated, _options.FeasibilityQuantile);
        }

        var mid = Math.Max(0, s.RankTotal - r.Generated);
        var high = Math.Max(mid, s.FeasibilityTotal - r.Generated);
        r.LengthBound = r.Generated + Math.Max(1, high);
        var prefillTokens = r.IsPrefill ? r.PendingTokens : 0;
        var prefillSteps = _options.PrefillAware ? Math.Ceiling(prefillTokens / (double)engine.TokenBudget) : 0;
        var typical = _time.TimeFor(prefillSteps, mid, 0);
        var worst = _time.TimeFor(prefillSteps, high, _options.MarginSigmas);
        var firstToken = _time.TimeFor(prefillSteps, 1, _options.MarginSigmas);
        // Death is for good, so it is judged on the typical first-token time, like a call's on its typical length; the
        // margin only decides who is at risk (the slot selection sheds on it first, so in practice this rarely differs).
        var typicalFirstToken = _time.TimeFor(prefillSteps, 1, 0);

        double deadline;
        double due; // when the next thing this request owes is due: a stream's next token, else the deadline
        double latestStart;
        bool dead;
        switch (spec.Class)
        {
            case RequestClass.Latency:
                // Attainment needs the first token by T_f and every later gap within T_b: the next token is always due.
                deadline = r.ArrivalS + slo.TtftS + ((r.Generated + high) * slo.TbtS);
                due = r.Generated == 0 ? r.ArrivalS + slo.TtftS : r.TokenTimesS[^1] + slo.TbtS;
                latestStart = due - firstToken;
                dead = s.SloLost || (r.Generated == 0 ? now + typicalFirstToken > due : now > due);
                if (dead)
                {
                    s.SloLost = true;
                }

                break;
            case RequestClass.Collective:
                // A call is judged against what is left of the job's budget: later stages need about as long as this one.
                var later = Math.Max(0, spec.StageCount - 1 - spec.Stage);
                deadline = spec.ArrivalS + slo.DeadlineS - (later * typical);
                due = deadline;
                latestStart = deadline - worst;
                if (_options.LaterStagesAtMeanCall)
                {
                    // Only the order: a short first call of a job whose later stages are long must start early enough
                    // for them, or the job's end drifts to the end of the run. Feasibility and death stay on this call.
                    latestStart -= later * Math.Max(0, _time.TimeFor(0, _callTokens.Mean, 0) - typical);
                }

                dead = now + typical > deadline;
                break;
            default:
                deadline = r.ArrivalS + slo.DeadlineS;
                due = deadline;
                latestStart = deadline - worst;
                dead = now + typical > deadline;
                break;
        }

        // Demand on the whole machine: a decode step serves MaxBatch sequences, a prefill step one chunk.
        var demand = _time.TimeFor(prefillSteps, 0, 0) + (_time.TimeFor(0, mid, 0) / engine.MaxBatch);
        var value = _weights.Of(r.PromptTokens, r.Generated + mid) + bonus;
        if (dead && spec.Class == RequestClass.Latency && _options.LostStreamGain)
        {
            // The SLO is lost, but each later token still earns gain if it lands on the cumulative schedule
            // arrival + T_f + i·T_b, which a stream served every step catches up with: value what is still earnable.
            var earnable = EarnableTokens(r, now + firstToken, mid);
            value = _weights.Decode * earnable;
            dead = earnable <= 0;
            // Nothing is earnable on the median, but a longer answer than that still would be: such a stream goes before
            // dead work that can earn nothing at all (see DeadThatMayEarnFirst).
            s.MayEarn = dead && _options.DeadThatMayEarnFirst
                && EarnableTokens(r, now + firstToken, Math.Max(0, UpperTotal(r, s, _options.MayEarnQuantile) - r.Generated)) > 0;
        }

        s.ShedForSlot = false;
        s.DeadlineS = deadline;
        s.LatestStartS = latestStart;
        s.TypicalS = typical;
        // Dead work is packed longest first on an upper quantile of its own length (see DeadLengthQuantile).
        var own = dead ? _time.TimeFor(prefillSteps, DeadRemaining(r, s, mid), 0) : typical;
        s.ChainS = spec.Class == RequestClass.Collective
            ? own + (Math.Max(0, spec.StageCount - 1 - spec.Stage) * _time.TimeFor(0, _callTokens.Mean, 0))
            : own;
        s.FirstTokenS = firstToken;
        s.DueS = due;
        s.DemandS = Math.Max(demand, 1e-9);
        s.Density = value / s.DemandS;
        // Feasible on the upper quantile: tier 0. Feasible only on the median: tier 1, behind every safe request. A
        // latency stream on pace stays feasible however long it may run: its per-token deadline is what binds.
        var risky = spec.Class != RequestClass.Latency && now + worst > deadline;
        s.Tier = dead ? 2 : risky || s.SloLost ? 1 : 0;
        if (_options.LongJobsWaitInBacklog && _order.Overloaded && s.Tier == 0 && IsLongJobNotStarted(r))
        {
            // Under a backlog every later stage queues for a slot, so a long chain started now is the likeliest to
            // miss, and its calls would take the capacity the jobs already running need (docs/TEMPO.md).
            s.Tier = 1;
        }

        s.PricedTier = s.Tier;
        s.Stamp++;
        s.PricedIn = _evaluation;

        // When the clock alone would change the tier (the same comparisons, solved for `now`): safe turns at risk,
        // then dead. A lost stream's earnable value moves with every step, so only a re-plan prices it again.
        var deadAtS = spec.Class switch
        {
            RequestClass.Latency => r.Generated == 0 ? due - typicalFirstToken : due,
            _ => deadline - typical,
        };
        var riskAtS = spec.Class == RequestClass.Latency ? double.PositiveInfinity : deadline - worst;
        s.NextChangeS = s.SloLost || dead ? double.PositiveInfinity : s.Tier == 0 ? Math.Min(riskAtS, deadAtS) : deadAtS;
    }

    // The remaining length dead work is packed by: its DeadLengthQuantile.
    private double DeadRemaining(EngineRequest r, PricedRequest s, double mid) =>
        _options.DeadLengthQuantile == _options.RankQuantile ? mid : Math.Max(mid, UpperTotal(r, s, _options.DeadLengthQuantile) - r.Generated);

    // The total length at an upper quantile of the posterior, read once per token like the rank and feasibility
    // quantiles: dead work's packing and the may-earn test both read it (the same 0.9 quantile by default).
    private static int UpperTotal(EngineRequest r, PricedRequest s, double quantile)
    {
        if (s.UpperAt != r.Generated || s.UpperQuantile != quantile)
        {
            s.UpperAt = r.Generated;
            s.UpperQuantile = quantile;
            s.UpperTotal = s.Posterior.QuantileAfter(r.Generated, quantile);
        }

        return s.UpperTotal;
    }

    // Of the next `remaining` tokens of a latency stream whose next token lands at `nextTokenS`, how many land on
    // its cumulative schedule, if the stream then makes one token per decode step.
    private double EarnableTokens(EngineRequest r, double nextTokenS, double remaining)
    {
        var slo = r.Spec.Slo;
        var behind = nextTokenS - (r.ArrivalS + slo.TtftS + (r.Generated * slo.TbtS));
        if (behind <= 0)
        {
            return remaining;
        }

        var catchUpPerToken = slo.TbtS - _time.DecodeS;
        return catchUpPerToken <= 0 ? 0 : Math.Max(0, remaining - Math.Ceiling(behind / catchUpPerToken));
    }
}
