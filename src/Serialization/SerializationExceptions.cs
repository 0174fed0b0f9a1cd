namespace ResultGrid.Serialization;

/// <summary>A stored result whose content type the reader does not accept.</summary>
public sealed class ContentTypeNotAcceptedException : InvalidOperationException
{
    public ContentTypeNotAcceptedException() { }
    public ContentTypeNotAcceptedException(string message) : base(message) { }
    public ContentTypeNotAcceptedException(string message, Exception inner) : base(message, inner) { }

    public ContentTypeNotAcceptedException(string taskId, string contentType, string accepted)
        : base($"The result of task '{taskId}' has content type '{contentType}', which this reader does not accept; " +
               $"accepted: {accepted}. Add it to ResultGrid:Serialization:AcceptContent to read it.")
    {
        ContentType = contentType;
    }

    public string? ContentType { get; }
}

/// <summary>A stored payload that could not be decoded: corrupt, truncated, or not the type asked for.</summary>
public sealed class ResultDecodeException : InvalidOperationException
{
    public ResultDecodeException() { }
    public ResultDecodeException(string message) : base(message) { }
    public ResultDecodeException(string message, Exception inner) : base(message, inner) { }
}
