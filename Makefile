# The Splunk app: `make splunk-app` builds dist/idgate-<version>.tar.gz from a
# clean checkout (needs python3 and a Python 3.9; installs UCC from PyPI into build/).
.PHONY: splunk-app splunk-app-check splunk-app-clean

splunk-app:
	bash connectors/splunk/build.sh

# build + AppInspect (cloud, precert) + the app's tests on Python 3.9 and 3.13
splunk-app-check:
	bash connectors/splunk/ci.sh

splunk-app-clean:
	rm -rf build/splunk dist/idgate-*.tar.gz
