using System.CommandLine;
using System.Globalization;

using Tempo.Scheduling;
using Tempo.Scheduling.Gain.JitServe;
using Tempo.Scheduling.Gain.SelectEdf;

namespace Tempo.Cli;

/// <summary>Command-line options that vary Tempo's parameters for ablations (the defaults of docs/TEMPO.md, "Parameters", §3.11).</summary>
internal static class TempoAblationOptions
{
    private static readonly Option<double?> Penalty = new("--penalty") { Description = "jitserve: penalty exponent p on the SLO ratio (default 100)" };
    private static readonly Option<int?> ReplanInterval = new("--replan-interval") { Description = "jitserve: re-plan every R steps (default 50)" };
    private static readonly Option<int?> TopK = new("--top-k") { Description = "jitserve: candidate pool k·B for the grouped window (default 1)" };
    private static readonly Option<int?> MaxSwaps = new("--max-swaps") { Description = "jitserve: activations/evictions per re-plan S (default 3)" };
    private static readonly Option<bool> Jit = new("--jit") { Description = "jitserve: just-in-time bandwidth (defer requests ahead of their SLO pace)" };
    private static readonly Option<string?> Without = new("--tempo-without") { Description = "tempo: turn mechanisms off (select, urgency, stream-band, prefill, bonus, online, lost-gain, backlog, keep-place, gap-chunks, prefill-order, dead-longest, dead-tail, may-earn, stage-mean, long-jobs) or on (+preempt) for ablations, a comma list" };
    private static readonly Option<int?> SelectEvery = new("--tempo-replan-steps") { Description = "tempo: run the whole selection every N steps, pricing only what moved in between (default 4; 1: every step)" };
    private static readonly Option<double?> ReplanDrift = new("--tempo-replan-drift") { Description = "tempo: re-plan on kept prices while step costs and the count bonus drift less than this fraction, pricing only what moved (default 0.1; 0: price everything at every re-plan)" };
    private static readonly Option<int?> FullReplanEvery = new("--tempo-full-replan-every") { Description = "tempo: with --tempo-replan-drift, price everything at least every N re-plans (default 64)" };
    private static readonly Option<double?> GapMargin = new("--tempo-gap-margin") { Description = "tempo: how many times its typical relative error a step may overrun and keep running streams on pace (default 3)" };
    private static readonly Option<bool> NoTopUp = new("--no-collective-top-up") { Description = "jitserve: disable the collective bandwidth top-up (A′)" };

    public static void AddTo(Command command)
    {
        foreach (var option in new Option[] { Penalty, ReplanInterval, TopK, MaxSwaps, Jit, NoTopUp, Without, SelectEvery, ReplanDrift, FullReplanEvery, GapMargin })
        {
            command.Options.Add(option);
        }
    }

    public static TempoAblation Read(ParseResult parse)
    {
        var o = TempoOptions.Default;
        o = parse.GetValue(Penalty) is { } p ? o with { PenaltyExponent = p } : o;
        o = parse.GetValue(ReplanInterval) is { } r ? o with { ReplanInterval = r } : o;
        o = parse.GetValue(TopK) is { } k ? o with { CandidateFactor = k } : o;
        o = parse.GetValue(MaxSwaps) is { } s ? o with { MaxSwapsPerReplan = s } : o;
        o = o with { JustInTime = parse.GetValue(Jit), CollectiveTopUp = !parse.GetValue(NoTopUp) };
        try
        {
            o.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException("tempo options: " + e.Message);
        }

        var select = SelectEdfOptions.Default;
        select = parse.GetValue(SelectEvery) is { } every ? select with { ReplanSteps = every } : select;
        select = parse.GetValue(ReplanDrift) is { } drift ? select with { ReplanDrift = drift } : select;
        select = parse.GetValue(FullReplanEvery) is { } full ? select with { FullReplanEvery = full } : select;
        select = parse.GetValue(GapMargin) is { } margin ? select with { GapMarginSpreads = margin } : select;
        foreach (var part in (parse.GetValue(Without) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            select = part.ToLowerInvariant() switch
            {
                "select" => select with { Select = false },
                "urgency" => select with { UrgencyOrder = false },
                "stream-band" => select with { StreamBand = 1 },
                "prefill" => select with { PrefillAware = false },
                "bonus" => select with { CountBonus = false },
                "dead-longest" => select with { DeadByLongest = false },
                "may-earn" => select with { DeadThatMayEarnFirst = false },
                "dead-tail" => select with { DeadLengthQuantile = select.RankQuantile },
                "stage-mean" => select with { LaterStagesAtMeanCall = false },
                "long-jobs" => select with { LongJobsWaitInBacklog = false },
                "+preempt" => select with { Preempt = true },
                "online" => select with { OnlineStepTime = false },
                "lost-gain" => select with { LostStreamGain = false },
                "backlog" => select with { BacklogOverload = false },
                "keep-place" => select with { SlotShedKeepsPlace = false },
                "gap-chunks" => select with { GapAwareChunks = false },
                "prefill-order" => select with { PrefillsInOrder = false },
                _ => throw new CliUsageException($"--tempo-without: unknown mechanism '{part}'; known: select, urgency, stream-band, prefill, bonus, online, lost-gain, backlog, keep-place, gap-chunks, prefill-order, dead-longest, dead-tail, may-earn, stage-mean, long-jobs, +preempt"),
            };
        }

        try
        {
            select.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException("tempo options: " + e.Message);
        }

        return new TempoAblation(o, select);
    }
}

/// <summary>The Tempo parameters of a run.</summary>
internal sealed record TempoAblation(TempoOptions Options, SelectEdfOptions Select)
{
    public SchedulerOptions Apply(SchedulerOptions options) => options with { Tempo = Options, SelectEdf = Select };

    public IEnumerable<KeyValuePair<string, string>> Describe()
    {
        var o = Options;
        var t = Select;
        yield return new("tempo", string.Create(CultureInfo.InvariantCulture,
            $"q_rank={t.RankQuantile} q_feasible={t.FeasibilityQuantile} margin={t.MarginSigmas} select={t.Select} urgency={t.UrgencyOrder} stream_band={t.StreamBand} prefill={t.PrefillAware} bonus={t.CountBonus} preempt={t.Preempt} online={t.OnlineStepTime} lost_gain={t.LostStreamGain} replan_steps={t.ReplanSteps} replan_drift={t.ReplanDrift} full_replan_every={t.FullReplanEvery} backlog={t.BacklogOverload} keep_place={t.SlotShedKeepsPlace} gap_chunks={t.GapAwareChunks} gap_margin={t.GapMarginSpreads} prefill_order={t.PrefillsInOrder} dead_longest={t.DeadByLongest} may_earn={t.DeadThatMayEarnFirst} may_earn_q={t.MayEarnQuantile} dead_q={t.DeadLengthQuantile}"));
        yield return new("jitserve", string.Create(CultureInfo.InvariantCulture,
            $"p={o.PenaltyExponent} R={o.ReplanInterval} k={o.CandidateFactor} S={o.MaxSwapsPerReplan} jit={o.JustInTime} top_up={o.CollectiveTopUp}"));
    }
}
