using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

using Tempo.Llama;

namespace Tempo.Cli;

/// <summary><c>tempo make-model</c>: writes a random-weight llama GGUF for tests, demos and benchmarks.</summary>
internal static class MakeModelCommand
{
    public static Command Create()
    {
        var defaults = new GgufModelOptions();
        var outOption = new Option<string>("--out") { Description = "GGUF file to write", Required = true };
        var layers = new Option<int>("--layers") { Description = "transformer blocks", DefaultValueFactory = _ => defaults.Layers };
        var embd = new Option<int>("--embd") { Description = "embedding width (multiple of 32)", DefaultValueFactory = _ => defaults.Embedding };
        var vocab = new Option<int>("--vocab") { Description = $"vocabulary size (at least {GgufVocabulary.MinimumSize})", DefaultValueFactory = _ => defaults.Vocabulary };
        var ctx = new Option<int>("--ctx") { Description = "training context length", DefaultValueFactory = _ => defaults.Context };
        var heads = new Option<int?>("--heads") { Description = "attention heads (default: embd / 64)" };
        var ff = new Option<int?>("--ff") { Description = "feed-forward width (default: 8/3 embd rounded up to 64)" };
        var type = new Option<string>("--type") { Description = "weight type: f32, f16 or q8_0", DefaultValueFactory = _ => "f32" };
        var template = new Option<string?>("--chat-template-file") { Description = "store this file's text as the model's chat template (tokenizer.chat_template)" };
        var seed = new Option<long>("--seed") { Description = "seed of the weights (same seed, same bytes)", DefaultValueFactory = _ => 1 };
        var command = new Command("make-model", "Write a random-weight llama GGUF model (gibberish output, real compute).")
        {
            outOption, layers, embd, vocab, ctx, heads, ff, type, seed, template,
        };
        command.SetAction(parse => CliErrors.Guard(() =>
        {
            var options = new GgufModelOptions
            {
                Layers = parse.GetValue(layers),
                Embedding = parse.GetValue(embd),
                Vocabulary = parse.GetValue(vocab),
                Context = parse.GetValue(ctx),
                Heads = parse.GetValue(heads),
                FeedForward = parse.GetValue(ff),
                Type = ParseType(parse.GetValue(type)!),
                Seed = unchecked((ulong)parse.GetValue(seed)),
                ChatTemplate = parse.GetValue(template) is { } file
                    ? File.Exists(file) ? File.ReadAllText(file) : throw new CliUsageException($"--chat-template-file: '{file}' does not exist")
                    : null,
            };
            options.Validate();
            var path = parse.GetValue(outOption)!;
            var watch = Stopwatch.StartNew();
            GgufModelWriter.Write(path, options);
            var mib = new FileInfo(path).Length / (1024.0 * 1024.0);
            Console.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"wrote {path}: {options.ParameterCount / 1e6:0.0}M parameters ({options.Layers} layers, embd {options.Embedding}, {options.HeadCount} heads, ff {options.FeedForwardWidth}, vocab {options.Vocabulary}, ctx {options.Context}, {parse.GetValue(type)}), {mib:0.0} MiB in {watch.Elapsed.TotalSeconds:0.0} s"));
            return 0;
        }));
        return command;
    }

    private static GgufWeightType ParseType(string value) => value.Trim().ToLowerInvariant() switch
    {
        "f32" => GgufWeightType.F32,
        "f16" => GgufWeightType.F16,
        "q8_0" or "q8" => GgufWeightType.Q8_0,
        _ => throw new CliUsageException($"--type: unknown weight type '{value}'; use f32, f16 or q8_0"),
    };
}
