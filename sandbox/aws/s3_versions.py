"""ListObjectVersions continues after its marker as S3 does, even when the marker's object is gone.

A page ends with NextKeyMarker/NextVersionIdMarker naming its last version. Notebook 06 deletes each page before
asking for the next, as the AWS documentation's bucket-emptying examples do; S3 then lists what sorts after that
position. moto looks for the marker version itself and, not finding it, returns an empty page: the bucket is left
with everything after the first 1,000 versions and DeleteBucket answers BucketNotEmpty. Here, when the marker
version is gone, moto is handed the last version of an earlier key instead (by name, then newest first, as moto
sorts). Not followed: a version of the marker's key written after the page was listed is listed again.
"""

from __future__ import annotations

from sandbox.aws.patching import replaces


def install_version_listing() -> None:
    from moto.core.utils import unix_time_millis
    from moto.s3.models import S3Backend

    @replaces(S3Backend, "list_object_versions")
    def list_object_versions(
        original,
        self,
        bucket_name,
        delimiter=None,
        key_marker=None,
        max_keys=1000,
        prefix="",
        version_id_marker=None,
    ):
        if key_marker is not None and version_id_marker:
            versions = [v for _, listed in self.get_bucket(bucket_name).keys.iterlists() for v in listed]
            if not any(v.name == key_marker and v.version_id == version_id_marker for v in versions):
                # The versions of key_marker still there are older than the deleted marker (a page lists the
                # newest first): they come next, so resume after the last version of an earlier key.
                before = [v for v in versions if v.name < key_marker]
                last = max(before, key=lambda v: (v.name, -unix_time_millis(v.last_modified)), default=None)
                if last is None:
                    key_marker = version_id_marker = None
                else:
                    key_marker, version_id_marker = last.name, last.version_id
        return original(self, bucket_name, delimiter, key_marker, max_keys, prefix, version_id_marker)
