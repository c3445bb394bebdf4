"""Moving a podcast in: `import` reads an existing show's feed (every page) and writes our show
definition and episode records with its identity intact.

    fetch.py    bounded HTTP(S) reads: size and time limits, retries, resumable media downloads
    parse.py    one feed page -> plain values (lxml, no entity or network access)
    convert.py  HTML descriptions, JSON/Podlove chapters, VTT/JSON/SRT transcripts -> our sources
    run.py      `import_feed`: pages -> checks -> plan -> downloads -> records, and its report
"""
