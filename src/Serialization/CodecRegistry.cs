namespace ResultGrid.Serialization;

/// <summary>The codecs known to a process, found by content type or alias (case-insensitive).</summary>
internal sealed class CodecRegistry
{
    private readonly Dictionary<string, IResultCodec> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<IResultCodec> _codecs = [];

    public CodecRegistry(ResultSerializationOptions options)
    {
        Add(new JsonResultCodec(options.Json));
        Add(new RawBytesCodec());
        Add(new MessagePackResultCodec());
        foreach (var codec in options.Codecs)
        {
            Add(codec);
        }
    }

    private void Add(IResultCodec codec)
    {
        // A user's codec registered under an existing content type replaces the built-in one.
        _codecs.RemoveAll(c => string.Equals(c.ContentType, codec.ContentType, StringComparison.OrdinalIgnoreCase));
        _codecs.Add(codec);
        _byName[codec.ContentType] = codec;
        foreach (var alias in codec.Aliases)
        {
            _byName[alias] = codec;
        }
    }

    public IResultCodec? Find(string? nameOrContentType) =>
        nameOrContentType is not null && _byName.TryGetValue(nameOrContentType.Trim(), out var codec) ? codec : null;

    public string Describe() => string.Join(", ", _codecs.Select(c =>
        c.Aliases.Count > 0 ? $"{c.Aliases[0]} ({c.ContentType})" : c.ContentType));
}
