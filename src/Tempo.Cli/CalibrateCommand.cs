using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;

using Tempo.Llama;
using Tempo.Reports;
using Tempo.Simulation.Profiles;
using Tempo.Simulation.Profiles.Calibration;

namespace Tempo.Cli;

/// <summary>
/// <c>tempo calibrate</c>: measures a GGUF model's real step latency over a grid of step shapes, fits the simulator's
/// cost model to it and writes a profile that <c>tempo simulate --profile</c> loads.
/// </summary>
internal static class CalibrateCommand
{
    private static readonly bool[] DecodeAttentionForms = [false, true];

    private static readonly Option<string?> ModelOption = new("--model", "-m") { Description = "GGUF model to measure (or --from-steps)" };

    private static readonly Option<string[]> FromStepsOption = new("--from-steps") { Description = "fit to the steps a real server logged (tempo serve --step-log) instead of measuring a model; needs --base", AllowMultipleArgumentsPerToken = true };

    private static readonly Option<string?> BaseOption = new("--base") { Description = "with --from-steps: profile whose KV capacity, limits and swap cost are kept (e.g. one from tempo calibrate --model)" };

    private static readonly Option<string> OutOption = new("--out", "-o") { Description = "profile JSON to write", Required = true };

    private static readonly Option<string?> NameOption = new("--name") { Description = "profile name (default: the model file name + '-cpu')" };

    private static readonly Option<int> MaxBatchOption = new("--max-batch") { Description = "sequences per step, as 'tempo serve --max-batch'", DefaultValueFactory = _ => 8 };

    private static readonly Option<int> TokenBudgetOption = new("--token-budget") { Description = "tokens per step, as 'tempo serve --token-budget'", DefaultValueFactory = _ => 256 };

    private static readonly Option<int?> ContextOption = new("--ctx-size") { Description = "KV cells, as 'tempo serve --ctx-size' (default: the model's training context)" };

    private static readonly Option<int?> ThreadsOption = new("--threads") { Description = "CPU threads, as 'tempo serve --threads' (default: all cores)" };

    private static readonly Option<string> KvLayoutOption = new("--kv-layout") { Description = "shared or per-sequence, as 'tempo serve --kv-layout'", DefaultValueFactory = _ => "shared" };

    private static readonly Option<int> RepeatsOption = new("--repeats") { Description = "timed steps per point (median after outlier rejection)", DefaultValueFactory = _ => 9 };

    // Ten, not one or two: on a CPU the first decode steps after other work run up to 2x slower until the weights are
    // back in cache (measured on the 2-core CI machine: 7 ms falling to 3-4 ms over 10-20 steps), while a server's
    // steps follow each other and run warm.
    private static readonly Option<int> WarmupOption = new("--warmup") { Description = "untimed steps before each point's timed ones (lets the weights return to cache)", DefaultValueFactory = _ => 10 };

    private static readonly Option<int> RoundsOption = new("--rounds") { Description = "passes over the whole grid, each in its own order; a shape's timings from all passes are pooled", DefaultValueFactory = _ => 3 };

    private static readonly Option<bool> QuickOption = new("--quick") { Description = "a coarse grid (smoke tests; the fit is rougher)" };

    private static readonly Option<string?> ReportOption = new("--report") { Description = "CSV of every measured point with the fitted prediction and its error" };

    public static Command Create()
    {
        var command = new Command("calibrate", "Measure a GGUF model's step latency on this machine and fit a cost profile for 'tempo simulate --profile'.");
        foreach (var option in new Option[] { ModelOption, FromStepsOption, BaseOption, OutOption, NameOption, MaxBatchOption, TokenBudgetOption, ContextOption, ThreadsOption, KvLayoutOption, RepeatsOption, WarmupOption, RoundsOption, QuickOption, ReportOption })
        {
            command.Options.Add(option);
        }

        command.SetAction(parse => CliErrors.Guard(() => Run(parse)));
        return command;
    }

    internal static LlamaKvLayout ParseKvLayout(string value) => value.Trim().ToLowerInvariant() switch
    {
        "shared" => LlamaKvLayout.Shared,
        "per-sequence" or "per-seq" => LlamaKvLayout.PerSequence,
        _ => throw new CliUsageException($"--kv-layout: unknown layout '{value}'; use shared or per-sequence"),
    };

    private static int Run(ParseResult parse)
    {
        var fromSteps = parse.GetValue(FromStepsOption) ?? [];
        if (fromSteps.Length > 0)
        {
            return parse.GetValue(ModelOption) is null
                ? FitSteps(parse, fromSteps)
                : throw new CliUsageException("--model measures a model, --from-steps fits a server's step log: give one of them");
        }

        if (parse.GetValue(ModelOption) is null)
        {
            throw new CliUsageException("give --model FILE.gguf to measure a model, or --from-steps FILE.jsonl with --base PROFILE to fit a server's step log");
        }

        var repeats = parse.GetValue(RepeatsOption);
        var warmup = parse.GetValue(WarmupOption);
        if (repeats < 3)
        {
            throw new CliUsageException($"--repeats must be at least 3 for a median with outlier rejection, got {repeats}");
        }

        if (parse.GetValue(RoundsOption) < 1)
        {
            throw new CliUsageException($"--rounds must be at least 1, got {parse.GetValue(RoundsOption)}");
        }

        if (warmup < 0)
        {
            throw new CliUsageException($"--warmup cannot be negative, got {warmup}");
        }

        var maxBatch = parse.GetValue(MaxBatchOption);
        var budget = parse.GetValue(TokenBudgetOption);
        if (maxBatch < 1 || budget < 8)
        {
            throw new CliUsageException($"--max-batch must be at least 1 and --token-budget at least 8, got {maxBatch} and {budget}");
        }

        var modelPath = parse.GetValue(ModelOption)!;
        var outPath = parse.GetValue(OutOption)!;
        var layout = ParseKvLayout(parse.GetValue(KvLayoutOption)!);
        var outDir = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
        if (!Directory.Exists(outDir))
        {
            throw new DirectoryNotFoundException($"--out: directory '{outDir}' does not exist");
        }

        using var model = LlamaModel.Load(modelPath, parse.GetValue(ThreadsOption), parse.GetValue(ContextOption), layout);
        var config = model.EngineConfigFor(maxBatch, Math.Min(budget, model.ContextSize));
        using var probe = new LlamaStepProbe(model, config.MaxBatch, config.TokenBudget);
        var grid = CalibrationGrid.For(probe.MaxBatch, config.TokenBudget, probe.MaxContext, model.ContextSize, growth: (2 * (warmup + repeats)) + 2, quick: parse.GetValue(QuickOption));
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"calibrate: {Path.GetFileName(model.Path)} ({model.ParameterCount / 1e6:0.0}M parameters), {model.Threads} threads, {model.ContextSize} KV cells ({layout}), batch {probe.MaxBatch}, budget {config.TokenBudget}: {grid.Points.Count} points x {parse.GetValue(RoundsOption)} rounds x ({warmup} warm-up + {repeats} timed)"));

        var watch = Stopwatch.StartNew();
        var rounds = parse.GetValue(RoundsOption);
        var timings = grid.Points.Select(_ => new List<double>()).ToArray();
        var visits = 0;
        for (var round = 0; round < rounds; round++)
        {
            // Each round visits every shape once, in its own seeded order: a slow spell of a shared host then spreads
            // over all shapes instead of biasing the few measured during it.
            var order = Enumerable.Range(0, grid.Points.Count).ToArray();
            new Random(round).Shuffle(order);
            foreach (var i in order)
            {
                var point = grid.Points[i];
                var visit = Measure(probe, point, repeats, warmup);
                timings[i].AddRange(visit);
                var summary = TimingSummary.Of(visit);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  [{++visits}/{grid.Points.Count * rounds}] round {round + 1}: {point.Label,-28} {summary.MedianMs,9:0.000} ms  (kept {summary.Kept}, rejected {summary.Rejected}, spread {summary.SpreadPct:0}%)  {watch.Elapsed.TotalSeconds:0}s"));
            }
        }

        var measured = grid.Points
            .Select((point, i) =>
            {
                var summary = TimingSummary.Of(timings[i]);
                return new MeasuredPoint(point, summary, new StepSample(point.Label, point.Work(warmup + (repeats / 2)), summary.MedianMs));
            })
            .ToList();

        var swapContext = Math.Min(probe.MaxContext / 2, 512);
        var swapMs = probe.TimeSwapPerBlock(swapContext, config.BlockSize, repeats);
        var training = measured.Where(m => !m.Point.HeldOut).Select(m => m.Sample).ToArray();
        var heldOut = measured.Where(m => m.Point.HeldOut).Select(m => m.Sample).ToArray();
        var name = parse.GetValue(NameOption) ?? Path.GetFileNameWithoutExtension(model.Path) + "-cpu";
        var template = new CostProfile
        {
            Name = name,
            Description = string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(model.Path)} on this CPU ({model.Threads} threads, {layout} KV), measured by tempo calibrate"),
            Model = Path.GetFileName(model.Path),
            Gpu = string.Create(CultureInfo.InvariantCulture, $"CPU, {model.Threads} threads ({Environment.ProcessorCount} cores)"),
            NumLayers = 1,
            LinearMs = [[1, 0]],
            DecodeAttnAMs = 0,
            DecodeAttnBMs = 0,
            PrefillAttnAMs = 0,
            PrefillAttnBetaMs = 0,
            PrefillAttnGMs = 0,
            FixedMs = 0,
            SwapMsPerBlock = swapMs,
            KvGpuBlocks = config.GpuBlocks,
            KvCpuBlocks = config.CpuBlocks,
            BlockSize = config.BlockSize,
            MaxModelLen = config.MaxModelLen,
        };
        // llama.cpp pads the attention of a batch over separate per-sequence slices to the longest of them; the grid
        // measures equal contexts only, so it cannot see this and the layout decides.
        var fitted = CostModelFit.Fit(training, template, grid.Knots, paddedDecode: layout == LlamaKvLayout.PerSequence);
        var trainError = FitError.Of(fitted, training);
        var heldOutError = heldOut.Length > 0 ? FitError.Of(fitted, heldOut) : null;
        fitted = fitted with { Calibration = Describe(config.TokenBudget, probe.MaxBatch, rounds, repeats, warmup, training.Length, heldOut.Length, trainError, heldOutError, swapContext) };
        fitted.Save(outPath);
        if (parse.GetValue(ReportOption) is { } report)
        {
            WriteReport(report, measured, fitted);
        }

        Console.Out.Write(Summary(fitted, trainError, heldOutError));
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"calibrate: wrote {outPath} in {watch.Elapsed.TotalSeconds:0} s; use it with 'tempo simulate --profile {outPath} --max-batch {probe.MaxBatch} --token-budget {config.TokenBudget}'"));
        return 0;
    }

    // In-situ calibration: the same fit over steps a server ran under real traffic, so what a microbenchmark on a quiet
    // machine cannot see (the HTTP server and clients sharing the cores and caches, shapes the grid lacks) is in it.
    private static int FitSteps(ParseResult parse, string[] logs)
    {
        var basePath = parse.GetValue(BaseOption) ?? throw new CliUsageException("--from-steps needs --base PROFILE for the KV capacity, limits and swap cost it does not measure");
        var template = CostProfile.Load(basePath);
        var limitsFrom = Path.GetFileName(basePath);

        // A server's trace says which engine ran the steps: its KV capacity and context limit beat the base profile's.
        var engines = logs.Where(File.Exists).Select(Engine.StepTrace.EngineOf).Distinct().ToList();
        if (engines is [{ } traced])
        {
            template = template with { KvGpuBlocks = traced.GpuBlocks, KvCpuBlocks = traced.CpuBlocks, BlockSize = traced.BlockSize, MaxModelLen = traced.MaxModelLen };
            limitsFrom = "the server's trace header";
        }

        var budget = parse.GetValue(TokenBudgetOption);
        var samples = new List<StepSample>();
        foreach (var log in logs)
        {
            if (!File.Exists(log))
            {
                throw new FileNotFoundException($"--from-steps: no file '{log}'");
            }

            samples.AddRange(Engine.StepLog.Read(log)
                .Where(s => s.Work.Count > 0 && s.DurationS > 0 && s.SwapBlocks == 0)
                .Select(s => new StepSample("logged step", s.Work, s.DurationS * 1000)));
        }

        // Powers of two up to the budget, as a model calibration; knots no logged step reaches are dropped by the fit.
        var knots = Enumerable.Range(0, 30).Select(i => 1 << i).TakeWhile(k => k < budget).Append(budget).ToArray();
        var name = parse.GetValue(NameOption) ?? template.Name + "-insitu";
        // Paged attention (ΣK) or attention padded to the batch's longest context: the logged steps decide, since their
        // decode batches mix short and long contexts (a model calibration's grid cannot tell the two apart).
        var (fitted, error) = DecodeAttentionForms
            .Select(padded => CostModelFit.MatchTotalTime(CostModelFit.Fit(samples, template with { Name = name }, knots, padded), samples))
            .Select(p => (Profile: p, Error: FitError.Of(p, samples)))
            .MinBy(f => f.Error.MedianAbsPct);
        fitted = fitted with
        {
            Description = template.Description + "; coefficients fitted to logged server steps",
            Calibration = string.Create(CultureInfo.InvariantCulture, $"tempo calibrate --from-steps on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC: {samples.Count} steps a server logged ({string.Join(", ", logs.Select(Path.GetFileName))}), same fitted form as a model calibration (per-iteration coefficients), then rescaled so the steps' total predicted time equals their measured total; fit error over those steps |pred-meas|/meas median {error.MedianAbsPct:0.0}%, p90 {error.P90AbsPct:0.0}%. KV capacity and limits from {limitsFrom}; swap cost from {Path.GetFileName(basePath)}."),
        };
        fitted.Save(parse.GetValue(OutOption)!);
        Console.Out.Write(Summary(fitted, error, null));
        Console.Error.WriteLine($"calibrate: fitted {samples.Count} logged steps, wrote {parse.GetValue(OutOption)}");
        return 0;
    }

    private static double[] Measure(LlamaStepProbe probe, CalibrationPoint point, int repeats, int warmup)
    {
        var timings = Time(probe, point, repeats, warmup);

        // A third or more rejected means something else held the cores for a while: measure once more, so the shape is
        // judged on enough undisturbed timings.
        if (TimingSummary.Of(timings).Rejected * 3 >= repeats)
        {
            timings = [.. timings, .. Time(probe, point, repeats, warmup)];
        }

        return timings;
    }

    private static double[] Time(LlamaStepProbe probe, CalibrationPoint p, int repeats, int warmup) => p.Kind switch
    {
        CalibrationPointKind.Decode => probe.TimeDecode(p.Batch, p.Context, repeats, warmup),
        CalibrationPointKind.Prefill => probe.TimePrefill(p.Chunk, p.Context, repeats, warmup),
        _ => probe.TimeMixed(p.Batch, p.Context, p.Chunk, repeats, warmup),
    };

    private static string Describe(int budget, int maxBatch, int rounds, int repeats, int warmup, int trained, int heldOut, FitError train, FitError? held, int swapContext) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"tempo calibrate on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores: {trained} decode and prefill shapes fitted, {heldOut} mixed shapes held out; batch {maxBatch}, budget {budget}; {rounds} rounds over the grid in shuffled order, each {warmup} warm-up + {repeats} timed steps per shape; pooled median after rejecting timings beyond {TimingSummary.RejectMads} MADs. Per-iteration coefficients (num_layers 1): fixed cost, T_lin table, decode attention per context token, prefill attention per query-key pair, cost per sampled token. Fit error |pred-meas|/meas: median {train.MedianAbsPct:0.0}%, p90 {train.P90AbsPct:0.0}%, max {train.MaxAbsPct:0.0}%")
        + (held is null ? "" : string.Create(CultureInfo.InvariantCulture, $"; held-out mixed steps: median {held.MedianAbsPct:0.0}%, p90 {held.P90AbsPct:0.0}%, max {held.MaxAbsPct:0.0}%"))
        + string.Create(CultureInfo.InvariantCulture, $". Swap: LLamaSharp state save + load of a {swapContext}-token sequence, per block one way.");

    private static string Summary(CostProfile p, FitError train, FitError? held)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"profile {p.Name}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  fixed_ms            {p.FixedMs:0.000}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  output_ms           {p.OutputMs:0.0000}  per sampled token");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  decode_attn_b_ms    {p.DecodeAttnBMs:0.000e0}  per context token of the decode batch{(p.DecodeAttnPadded ? " (padded: batch size x longest context)" : "")}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  prefill_attn_g_ms   {p.PrefillAttnGMs:0.000e0}  per query-key pair");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  linear_ms           {string.Join(" ", p.LinearMs.Select(x => $"{x[0]:0}:{x[1]:0.00}"))}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  swap_ms_per_block   {p.SwapMsPerBlock:0.0000}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"fit error (|predicted - measured| / measured)");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  fitted shapes   ({train.Points.Count,3}): median {train.MedianAbsPct:0.0}%  p90 {train.P90AbsPct:0.0}%  max {train.MaxAbsPct:0.0}%");
        if (held is not null)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  held-out mixed  ({held.Points.Count,3}): median {held.MedianAbsPct:0.0}%  p90 {held.P90AbsPct:0.0}%  max {held.MaxAbsPct:0.0}%");
        }

        return sb.ToString();
    }

    private static void WriteReport(string path, IReadOnlyList<MeasuredPoint> measured, CostProfile profile)
    {
        var model = new CostModel(profile);
        var sb = new StringBuilder("kind,label,batch,context,chunk,held_out,measured_ms,predicted_ms,error_pct,kept,rejected,spread_pct\n");
        foreach (var m in measured)
        {
            var predicted = model.ShapeTimeS(m.Sample.Work.ToArray(), 0) * 1000;
            var p = m.Point;
            sb.Append(CultureInfo.InvariantCulture, $"{p.Kind.ToString().ToLowerInvariant()},{p.Label},{p.Batch},{p.Context},{p.Chunk},{(p.HeldOut ? 1 : 0)},{m.Summary.MedianMs:0.####},{predicted:0.####},{100 * (predicted - m.Summary.MedianMs) / m.Summary.MedianMs:0.##},{m.Summary.Kept},{m.Summary.Rejected},{m.Summary.SpreadPct:0.#}\n");
        }

        AtomicFile.WriteAllText(path, sb.ToString());
    }

    private sealed record MeasuredPoint(CalibrationPoint Point, TimingSummary Summary, StepSample Sample);
}
