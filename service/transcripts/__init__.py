"""Extended transcripts: CLR 2.0 ClrCredentials assembled from a learner's Portrait levels, badges and
course records, signed by the district, stored immutable and revocable."""
